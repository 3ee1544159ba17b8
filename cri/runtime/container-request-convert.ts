/**
 * Converts CRI container requests (protobufjs objects) into runtime/'s plain inputs: enums become
 * string unions, int64 values numbers, unset messages undefined.
 */
import { InvalidArgumentError } from '../../common/errors';
import { sameUserNamespace, UserNamespaceMappings, validateUserNamespace } from '../../common/id-mappings';
import type { AppArmorInput, ContainerConfigInput, ContainerSecurityInput, LinuxResourcesInput, MountPropagation, NamespaceMode, SeccompInput } from '../../runtime/spec/inputs';
import { runtime } from '../api/generated/cri';

/** An int64 as protobufjs gives it: a number, or a Long when not generated with --force-number. */
type Int64 = number | { toNumber(): number } | null | undefined;

/** An int64 field as a number (0 when unset). */
export function int64(v: Int64): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

const PROPAGATION: Record<number, MountPropagation> = {
  [runtime.v1.MountPropagation.PROPAGATION_PRIVATE]: 'private',
  [runtime.v1.MountPropagation.PROPAGATION_HOST_TO_CONTAINER]: 'host-to-container',
  [runtime.v1.MountPropagation.PROPAGATION_BIDIRECTIONAL]: 'bidirectional',
};

const NAMESPACE_MODE: Record<number, NamespaceMode> = {
  [runtime.v1.NamespaceMode.POD]: 'POD',
  [runtime.v1.NamespaceMode.CONTAINER]: 'CONTAINER',
  [runtime.v1.NamespaceMode.NODE]: 'NODE',
  [runtime.v1.NamespaceMode.TARGET]: 'TARGET',
};

/** CRI propagation enum → runtime's name. */
function propagationFromWire(p: number | null | undefined): MountPropagation {
  const v = PROPAGATION[p ?? 0];
  if (!v) throw new InvalidArgumentError(`mount propagation ${p} is unknown`);
  return v;
}

const PROPAGATION_TO_WIRE: Record<MountPropagation, runtime.v1.MountPropagation> = {
  private: runtime.v1.MountPropagation.PROPAGATION_PRIVATE,
  'host-to-container': runtime.v1.MountPropagation.PROPAGATION_HOST_TO_CONTAINER,
  bidirectional: runtime.v1.MountPropagation.PROPAGATION_BIDIRECTIONAL,
};

/** runtime's propagation name → CRI enum. */
export function propagationToWire(p: MountPropagation): runtime.v1.MountPropagation {
  return PROPAGATION_TO_WIRE[p];
}

/** LinuxContainerResources → runtime's resources (undefined when unset). */
export function resourcesFromWire(r: runtime.v1.ILinuxContainerResources | null | undefined): LinuxResourcesInput | undefined {
  if (!r) return undefined;
  const out: LinuxResourcesInput = {};
  const set = <K extends keyof LinuxResourcesInput>(k: K, v: LinuxResourcesInput[K] | 0 | '') => {
    if (v !== 0 && v !== '' && v !== undefined) out[k] = v as LinuxResourcesInput[K];
  };
  set('cpuPeriod', int64(r.cpuPeriod as Int64));
  set('cpuQuota', int64(r.cpuQuota as Int64));
  set('cpuShares', int64(r.cpuShares as Int64));
  set('memoryLimitInBytes', int64(r.memoryLimitInBytes as Int64));
  set('memorySwapLimitInBytes', int64(r.memorySwapLimitInBytes as Int64));
  set('oomScoreAdj', int64(r.oomScoreAdj as Int64));
  set('cpusetCpus', r.cpusetCpus ?? '');
  set('cpusetMems', r.cpusetMems ?? '');
  if (r.hugepageLimits && r.hugepageLimits.length > 0) out.hugepageLimits = r.hugepageLimits.map((h) => ({ pageSize: h.pageSize ?? '', limit: int64(h.limit as Int64) }));
  if (r.unified && Object.keys(r.unified).length > 0) out.unified = { ...r.unified };
  return out;
}

/** A CRI SecurityProfile message (seccomp or apparmor) → runtime's choice; `field` names it in errors. */
function securityProfileFromWire(
  profile: runtime.v1.ISecurityProfile,
  field: string,
  localhostRef: (ref: string) => string = (ref) => ref,
): SeccompInput & AppArmorInput {
  const T = runtime.v1.SecurityProfile.ProfileType;
  switch (profile.profileType ?? 0) {
    case T.RuntimeDefault:
      return { type: 'RuntimeDefault' };
    case T.Unconfined:
      return { type: 'Unconfined' };
    case T.Localhost:
      return { type: 'Localhost', localhostRef: localhostRef(profile.localhostRef ?? '') };
    default:
      throw new InvalidArgumentError(`${field}.profile_type ${profile.profileType} is unknown`);
  }
}

/** The seccomp choice: the `seccomp` message, else the deprecated path string, else Unconfined. */
function seccompFromWire(sc: runtime.v1.ILinuxContainerSecurityContext): SeccompInput | undefined {
  if (sc.seccomp) return securityProfileFromWire(sc.seccomp, 'linux.security_context.seccomp');
  const p = sc.seccompProfilePath ?? '';
  if (p === '' || p === 'unconfined') return undefined;
  if (p === 'runtime/default' || p === 'docker/default') return { type: 'RuntimeDefault' };
  if (p.startsWith('localhost/')) return { type: 'Localhost', localhostRef: p.slice('localhost/'.length) };
  throw new InvalidArgumentError(`seccomp_profile_path ${JSON.stringify(p)} is not runtime/default, unconfined or localhost/<path>`);
}

/** AppArmor's `localhost/` prefix, which kubelet may leave on localhost_ref (containerd strips it too). */
const LOCALHOST_PREFIX = 'localhost/';

/** The AppArmor choice: the `apparmor` message, else the deprecated string, else unset (RuntimeDefault). */
export function apparmorFromWire(sc: runtime.v1.ILinuxContainerSecurityContext): AppArmorInput | undefined {
  if (sc.apparmor) {
    return securityProfileFromWire(sc.apparmor, 'linux.security_context.apparmor', (ref) => (ref.startsWith(LOCALHOST_PREFIX) ? ref.slice(LOCALHOST_PREFIX.length) : ref));
  }
  const p = sc.apparmorProfile ?? '';
  if (p === '') return undefined;
  if (p === 'runtime/default') return { type: 'RuntimeDefault' };
  if (p === 'unconfined') return { type: 'Unconfined' };
  if (p.startsWith(LOCALHOST_PREFIX)) return { type: 'Localhost', localhostRef: p.slice(LOCALHOST_PREFIX.length) };
  throw new InvalidArgumentError(`linux.security_context.apparmor_profile ${JSON.stringify(p.slice(0, 128))} is not runtime/default, unconfined or localhost/<name>`);
}

/** The container's pid namespace mode; absent means POD, the CRI enum's zero value (as kubelet, cri-o and containerd read it). */
function pidModeFromWire(ns: runtime.v1.INamespaceOption | null | undefined): NamespaceMode {
  const mode = NAMESPACE_MODE[ns?.pid ?? runtime.v1.NamespaceMode.POD];
  if (!mode) throw new InvalidArgumentError(`linux.security_context.namespace_options.pid: unknown mode ${ns?.pid}`);
  return mode;
}

function securityFromWire(sc: runtime.v1.ILinuxContainerSecurityContext | null | undefined): ContainerSecurityInput {
  if (!sc) return { pidMode: 'POD' };
  const ns = sc.namespaceOptions;
  const out: ContainerSecurityInput = {
    privileged: sc.privileged === true,
    capabilities: { add: sc.capabilities?.addCapabilities ?? [], drop: sc.capabilities?.dropCapabilities ?? [] },
    pidMode: pidModeFromWire(ns),
    targetId: ns?.targetId || undefined,
    runAsUser: sc.runAsUser ? int64(sc.runAsUser.value as Int64) : undefined,
    runAsGroup: sc.runAsGroup ? int64(sc.runAsGroup.value as Int64) : undefined,
    runAsUsername: sc.runAsUsername || undefined,
    supplementalGroups: (sc.supplementalGroups ?? []).map((g) => int64(g as Int64)),
    supplementalGroupsPolicy: sc.supplementalGroupsPolicy === runtime.v1.SupplementalGroupsPolicy.Strict ? 'Strict' : 'Merge',
    readonlyRootfs: sc.readonlyRootfs === true,
    noNewPrivs: sc.noNewPrivs === true,
    // Protobuf cannot tell an empty list from an absent one: empty means "runtime defaults".
    maskedPaths: sc.maskedPaths && sc.maskedPaths.length > 0 ? [...sc.maskedPaths] : undefined,
    readonlyPaths: sc.readonlyPaths && sc.readonlyPaths.length > 0 ? [...sc.readonlyPaths] : undefined,
    seccomp: seccompFromWire(sc),
    apparmor: apparmorFromWire(sc),
  };
  const userNamespace = validateUserNamespace(ns?.usernsOptions, 'linux.security_context.namespace_options.userns_options');
  if (userNamespace) out.userNamespace = userNamespace;
  if (out.runAsGroup !== undefined && out.runAsUser === undefined && !out.runAsUsername) {
    throw new InvalidArgumentError('run_as_group needs run_as_user or run_as_username');
  }
  return out;
}

/**
 * An idmapped mount is only made with the container's (= its pod's) own mappings: a mount asking
 * for any other would map its files onto ids the pod does not own, and a mount of a container
 * without a user namespace cannot be idmapped at all (refused rather than silently bound as is).
 */
function checkMountMappings(m: runtime.v1.IMount, index: number, userNamespace: UserNamespaceMappings | undefined): void {
  const uids = m.uidMappings ?? [];
  const gids = m.gidMappings ?? [];
  if (uids.length === 0 && gids.length === 0) return;
  const field = `mounts[${index}].uid_mappings`;
  if (!userNamespace) throw new InvalidArgumentError(`${field}: an idmapped mount needs the container in a user namespace (namespace_options.userns_options)`);
  const asked = validateUserNamespace({ uids, gids }, `mounts[${index}]`);
  if (!sameUserNamespace(asked, userNamespace)) throw new InvalidArgumentError(`${field}: must equal the container's user namespace mappings`);
}

/** CreateContainerRequest.config → runtime's ContainerConfigInput; errors name the field. */
export function containerConfigFromWire(c: runtime.v1.IContainerConfig | null | undefined): ContainerConfigInput {
  if (!c) throw new InvalidArgumentError('config is required');
  if (!c.metadata?.name) throw new InvalidArgumentError('config.metadata.name is required');
  if (!c.image?.image) throw new InvalidArgumentError('config.image.image is required');
  const stopSignal = c.stopSignal ? runtime.v1.Signal[c.stopSignal] : undefined;
  const security = securityFromWire(c.linux?.securityContext);
  return {
    name: c.metadata.name,
    attempt: c.metadata.attempt ?? 0,
    image: c.image.image,
    ...(c.image.userSpecifiedImage ? { userSpecifiedImage: c.image.userSpecifiedImage } : {}),
    command: [...(c.command ?? [])],
    args: [...(c.args ?? [])],
    workingDir: c.workingDir ?? '',
    envs: (c.envs ?? []).map((e) => ({ key: e.key ?? '', value: e.value ?? '' })),
    mounts: (c.mounts ?? []).map((m, i) => {
      checkMountMappings(m, i, security.userNamespace);
      const mount = {
        containerPath: m.containerPath ?? '',
        hostPath: m.hostPath ?? '',
        readonly: m.readonly === true,
        propagation: propagationFromWire(m.propagation),
        recursiveReadOnly: m.recursiveReadOnly === true,
        ...((m.uidMappings ?? []).length > 0 ? { idmapped: true } : {}),
      };
      // An image volume's source is berth's own mount of the image: a host_path sent with it is not used.
      return m.image?.image ? { ...mount, hostPath: '', image: m.image.image, imageSubPath: m.imageSubPath ?? '' } : mount;
    }),
    devices: (c.devices ?? []).map((d) => ({ containerPath: d.containerPath ?? '', hostPath: d.hostPath ?? '', permissions: d.permissions ?? '' })),
    labels: { ...(c.labels ?? {}) },
    annotations: { ...(c.annotations ?? {}) },
    logPath: c.logPath ?? '',
    stdin: c.stdin === true,
    stdinOnce: c.stdinOnce === true,
    tty: c.tty === true,
    resources: resourcesFromWire(c.linux?.resources),
    security,
    ...(stopSignal ? { stopSignal } : {}),
    ...(c.CDIDevices && c.CDIDevices.length > 0 ? { cdiDevices: c.CDIDevices.map((d) => d.name ?? '') } : {}),
  };
}
