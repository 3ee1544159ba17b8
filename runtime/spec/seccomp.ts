/** The seccomp section: RuntimeDefault (our profile), Unconfined, or a Localhost profile. Pure. */
import { InvalidArgumentError } from '../../common/errors';
import type { SeccompInput } from './inputs';
import type { OciSeccomp, OciSyscallRule } from './oci-types';
import {
  ALLOWED_PERSONALITIES,
  ALWAYS_ALLOWED_SYSCALLS,
  CAPABILITY_GATED_SYSCALLS,
  CLONE_NAMESPACE_FLAGS,
  SECCOMP_ARCHITECTURES,
} from './seccomp-default-profile';

const EPERM = 1;

/** The RuntimeDefault profile for a container holding `capabilities`, on Node arch `arch`. */
export function runtimeDefaultProfile(capabilities: readonly string[], arch: string): OciSeccomp {
  const caps = new Set(capabilities);
  const allowed = new Set(ALWAYS_ALLOWED_SYSCALLS);
  for (const [cap, names] of Object.entries(CAPABILITY_GATED_SYSCALLS)) {
    if (caps.has(cap)) for (const n of names) allowed.add(n);
  }
  const syscalls: OciSyscallRule[] = [{ names: [...allowed].sort(), action: 'SCMP_ACT_ALLOW' }];
  syscalls.push(
    ...ALLOWED_PERSONALITIES.map((value) => ({
      names: ['personality'],
      action: 'SCMP_ACT_ALLOW',
      args: [{ index: 0, value, op: 'SCMP_CMP_EQ' }],
    })),
  );
  if (caps.has('CAP_SYS_ADMIN')) {
    syscalls.push({ names: ['clone'], action: 'SCMP_ACT_ALLOW' });
  } else {
    // clone without namespace flags; the flags are arg 0 except on s390 (arg 1).
    const flagsIndex = arch === 's390x' ? 1 : 0;
    syscalls.push({
      names: ['clone'],
      action: 'SCMP_ACT_ALLOW',
      args: [{ index: flagsIndex, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }],
    });
    // clone3 passes flags in a struct seccomp cannot inspect: make libc fall back to clone.
    syscalls.push({ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 /* ENOSYS */ });
  }
  return {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: EPERM,
    architectures: [...(SECCOMP_ARCHITECTURES[arch] ?? [])],
    syscalls,
  };
}

/** Validates a parsed Localhost profile enough that runc will not choke on garbage. */
function localhostProfile(ref: string | undefined, content: unknown): OciSeccomp {
  if (typeof content !== 'object' || content === null || Array.isArray(content)) {
    throw new InvalidArgumentError(`seccomp profile ${ref ?? '(unnamed)'} is not a JSON object`);
  }
  const profile = content as Partial<OciSeccomp>;
  if (typeof profile.defaultAction !== 'string') {
    throw new InvalidArgumentError(`seccomp profile ${ref ?? '(unnamed)'} has no defaultAction`);
  }
  return profile as OciSeccomp;
}

/** The spec's seccomp section, or undefined for none (Unconfined, privileged, or no seccomp on the host). */
export function seccompSection(opts: {
  seccomp?: SeccompInput;
  privileged: boolean;
  seccompAvailable: boolean;
  capabilities: readonly string[];
  arch: string;
  localhostContent?: unknown;
}): OciSeccomp | undefined {
  // Privileged containers run unconfined whatever the request names (the CRI contract; containerd
  // and cri-o do the same): a Localhost profile is neither read nor applied.
  if (opts.privileged) return undefined;
  const type = opts.seccomp?.type ?? 'Unconfined'; // the kubelet default when SeccompDefault is off
  if (type === 'Localhost') {
    if (!opts.seccomp?.localhostRef) throw new InvalidArgumentError('seccomp Localhost profile needs localhost_ref');
    if (opts.localhostContent === undefined) throw new InvalidArgumentError(`seccomp profile ${opts.seccomp.localhostRef} was not loaded`);
    if (!opts.seccompAvailable) throw new InvalidArgumentError('seccomp Localhost profile requested but this host has no seccomp');
    return localhostProfile(opts.seccomp.localhostRef, opts.localhostContent);
  }
  if (type === 'Unconfined' || !opts.seccompAvailable) return undefined;
  return runtimeDefaultProfile(opts.capabilities, opts.arch);
}
