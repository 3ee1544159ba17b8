/**
 * Pod sysctl validation. Only sysctls the kernel namespaces are accepted, and only when the pod
 * owns that namespace: the list is Kubernetes' (pkg/kubelet/sysctl/namespace.go, also cri-o's
 * internal/config/sysctl): `kernel.sem`, `kernel.shm*`, `kernel.msg*`, `fs.mqueue.*` (IPC) and
 * `net.*` (network). Values are written to /proc/sys by pause, so anything that could smuggle a
 * second assignment (`+`, `=`, newline, NUL) is refused.
 */
import { InvalidArgumentError } from '../common/errors';

type SysctlNamespace = 'ipc' | 'net';

const EXACT: Record<string, SysctlNamespace> = { 'kernel.sem': 'ipc' };
const PREFIXES: Array<[string, SysctlNamespace]> = [
  ['kernel.shm', 'ipc'],
  ['kernel.msg', 'ipc'],
  ['fs.mqueue.', 'ipc'],
  ['net.', 'net'],
];

/** A sysctl name segment: what /proc/sys file names under these trees look like. */
const SEGMENT = /^[A-Za-z0-9_-]+$/;
const FORBIDDEN_VALUE = /[+=\n\r\0]/;

/**
 * Converts the slash form (`net/ipv4/ip_forward`) to the dot form, as Kubernetes does: when the
 * first separator is `/`, slashes and dots swap (a dot in slash form is part of a name).
 */
export function toDotForm(name: string): string {
  const firstSep = name.search(/[./]/);
  if (firstSep < 0 || name[firstSep] === '.') return name;
  return name.replace(/[./]/g, (c) => (c === '/' ? '.' : '/'));
}

/** The namespace a sysctl belongs to, or undefined when it is not namespaced. */
function sysctlNamespace(dotName: string): SysctlNamespace | undefined {
  if (EXACT[dotName]) return EXACT[dotName];
  for (const [prefix, ns] of PREFIXES) if (dotName.startsWith(prefix)) return ns;
  return undefined;
}

/**
 * Validates the pod's sysctls for its namespace modes and returns them in dot form.
 * Throws InvalidArgumentError naming `linux.sysctls[<name>]`.
 */
export function validateSysctls(
  sysctls: Record<string, string> | null | undefined,
  owns: { net: boolean; ipc: boolean },
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [rawName, rawValue] of Object.entries(sysctls ?? {})) {
    const field = `linux.sysctls[${JSON.stringify(rawName)}]`;
    const name = toDotForm(rawName);
    const segments = name.split('.');
    if (segments.length < 2 || !segments.every((s) => SEGMENT.test(s))) {
      // A dot inside a segment (slash form `net/ipv4/conf/eth0.100/…`) would be ambiguous once
      // pause turns dots into slashes, so such names are refused rather than mis-written.
      throw new InvalidArgumentError(`${field}: invalid sysctl name`);
    }
    const ns = sysctlNamespace(name);
    if (!ns) throw new InvalidArgumentError(`${field}: sysctl is not namespaced, so a pod may not set it`);
    if (ns === 'net' && !owns.net) {
      throw new InvalidArgumentError(`${field}: net.* sysctls need the pod's own network namespace (network is NODE)`);
    }
    if (ns === 'ipc' && !owns.ipc) {
      throw new InvalidArgumentError(`${field}: IPC sysctls need the pod's own IPC namespace (ipc is NODE)`);
    }
    const value = String(rawValue ?? '');
    if (FORBIDDEN_VALUE.test(value)) {
      throw new InvalidArgumentError(`${field}: value contains a forbidden character (+, =, newline or NUL)`);
    }
    if (value.trim() === '') throw new InvalidArgumentError(`${field}: value is empty`);
    out[name] = value;
  }
  return out;
}
