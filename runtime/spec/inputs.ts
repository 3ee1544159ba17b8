/**
 * The inputs of the pure spec builder (docs/contributing.md, "The pure spec builder"). They are CRI-shaped but plain (numbers,
 * string unions), so runtime/ does not depend on the generated proto code: cri/ converts.
 * Everything that needs I/O (the resolved user, host devices, a Localhost seccomp profile's
 * content, the target container's pid, host capabilities) is resolved before and passed in.
 */
import type { UserNamespaceMappings } from '../../common/id-mappings';
import type { SandboxPaths } from '../../common/sandbox-paths';
import type { CdiEdits } from '../cdi/types';

/** CRI MountPropagation. */
export type MountPropagation = 'private' | 'host-to-container' | 'bidirectional';

/** CRI NamespaceMode. */
export type NamespaceMode = 'POD' | 'CONTAINER' | 'NODE' | 'TARGET';

export interface ContainerMountInput {
  containerPath: string;
  hostPath: string;
  readonly: boolean;
  propagation: MountPropagation;
  /** Make the bind recursively read-only (needs readonly; kernel ≥ 5.12 and runc support). */
  recursiveReadOnly?: boolean;
  /** An image volume: the image (ref or id) whose content is mounted read-only and noexec; hostPath is berth's mount of it. */
  image?: string;
  /** The subdirectory of the image volume to mount instead of its root (relative, inside the image). */
  imageSubPath?: string;
  /** Idmap the bind through the pod's user namespace (the request's uid/gid_mappings, equal to the pod's). */
  idmapped?: boolean;
}

export interface ContainerDeviceInput {
  containerPath: string;
  hostPath: string;
  /** cgroup access string: any of r, w, m. */
  permissions: string;
}

export interface SeccompInput {
  type: 'RuntimeDefault' | 'Unconfined' | 'Localhost';
  /** For Localhost: the profile path on the host (its content is passed separately). */
  localhostRef?: string;
}

/** CRI SecurityProfile for AppArmor (also from the deprecated apparmor_profile string). */
export interface AppArmorInput {
  type: 'RuntimeDefault' | 'Unconfined' | 'Localhost';
  /** For Localhost: the name of a profile loaded in the kernel. */
  localhostRef?: string;
}

/** The host's AppArmor, found (and berth's default profile loaded) at daemon start. */
export interface AppArmorHostFacts {
  /** The kernel has AppArmor on and apparmor_parser is installed. */
  enabled: boolean;
  /** The kernel switch alone (reported in Status). */
  kernelEnabled?: boolean;
  /** The apparmor_parser found (reported in Status). */
  parser?: string;
  /** Name of berth's default profile. */
  defaultProfile: string;
  /** The default profile is loaded in the kernel. */
  defaultProfileLoaded: boolean;
  /** Why loading the default profile failed, when it did. */
  loadError?: string;
}

export interface ContainerSecurityInput {
  privileged?: boolean;
  capabilities?: { add?: string[]; drop?: string[] };
  pidMode?: NamespaceMode;
  /** For pidMode TARGET: the target container id (its pid is resolved outside). */
  targetId?: string;
  runAsUser?: number;
  runAsUsername?: string;
  runAsGroup?: number;
  supplementalGroups?: number[];
  supplementalGroupsPolicy?: 'Merge' | 'Strict';
  readonlyRootfs?: boolean;
  noNewPrivs?: boolean;
  /** undefined = the runtime's defaults; an array (even empty) replaces them. */
  maskedPaths?: string[];
  readonlyPaths?: string[];
  seccomp?: SeccompInput;
  /** undefined = RuntimeDefault (as cri-o does). */
  apparmor?: AppArmorInput;
  /** namespace_options.userns_options: the pod's user namespace it expects; undefined: the host's. */
  userNamespace?: UserNamespaceMappings;
}

export interface HugepageLimitInput {
  pageSize: string;
  limit: number;
}

export interface LinuxResourcesInput {
  cpuPeriod?: number;
  cpuQuota?: number;
  cpuShares?: number;
  memoryLimitInBytes?: number;
  memorySwapLimitInBytes?: number;
  oomScoreAdj?: number;
  cpusetCpus?: string;
  cpusetMems?: string;
  hugepageLimits?: HugepageLimitInput[];
  unified?: Record<string, string>;
}

export interface KeyValue {
  key: string;
  value: string;
}

/** CRI ContainerConfig, plain. */
export interface ContainerConfigInput {
  name: string;
  attempt: number;
  image: string;
  /** The image as the user wrote it (ImageSpec.user_specified_image), reported back in status. */
  userSpecifiedImage?: string;
  command: string[];
  args: string[];
  workingDir: string;
  envs: KeyValue[];
  mounts: ContainerMountInput[];
  devices: ContainerDeviceInput[];
  labels: Record<string, string>;
  annotations: Record<string, string>;
  logPath: string;
  stdin: boolean;
  stdinOnce: boolean;
  tty: boolean;
  resources?: LinuxResourcesInput;
  security: ContainerSecurityInput;
  /** Stop signal name (e.g. "SIGQUIT") overriding the image's StopSignal. */
  stopSignal?: string;
  /** CRI cdi_devices: fully-qualified CDI device names (`vendor.com/class=name`). */
  cdiDevices?: string[];
}

/** The pod data the spec needs (a subset of pod/'s SandboxInfo). */
export interface SandboxSpecInput extends SandboxPaths {
  id: string;
  name: string;
  namespace: string;
  uid: string;
  hostname: string;
}

/** The OCI image config's `config` object (only what the spec uses is typed). */
export interface OciImageConfig {
  // Image configs in the wild carry explicit nulls ("Entrypoint": null): every field accepts one.
  User?: string | null;
  Env?: string[] | null;
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  WorkingDir?: string | null;
  StopSignal?: string | null;
  Labels?: Record<string, string> | null;
  ExposedPorts?: Record<string, unknown> | null;
  Volumes?: Record<string, unknown> | null;
}

/** The user the process runs as, resolved from the rootfs (runtime/user.ts). */
export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  /** Home directory from /etc/passwd, used for HOME when the env has none. */
  home?: string;
}

/** A device node resolved on the host (stat), for config devices and privileged containers. */
export interface ResolvedDevice {
  containerPath: string;
  type: 'c' | 'b';
  major: number;
  minor: number;
  fileMode: number;
  uid: number;
  gid: number;
  /** cgroup access string. */
  permissions: string;
}

/** Facts about the host and configured defaults. */
export interface RuntimeSpecDefaults {
  cgroupVersion: 1 | 2;
  cgroupDriver: 'cgroupfs' | 'systemd';
  /** Lowest oom_score_adj the host lets us set (berthd's own value); lower requests are clamped. */
  oomScoreAdjFloor: number;
  seccompAvailable: boolean;
  /** The runtime and kernel support the "rro" mount option. */
  recursiveReadOnlySupported: boolean;
  /** memory.memsw.* exists (cgroup v1) / memory.swap.max (v2). */
  swapAccounting: boolean;
  /** Capabilities the host kernel knows (for privileged containers). */
  allCapabilities: string[];
  defaultCapabilities: string[];
  rlimits: Array<{ type: string; hard: number; soft: number }>;
  /** Default PATH when neither the image nor the config sets one. */
  defaultPath: string;
  /** AppArmor on the host; undefined = none. */
  apparmor?: AppArmorHostFacts;
}

/** Everything the builder needs for one container. */
export interface SpecBuildInput {
  containerId: string;
  config: ContainerConfigInput;
  sandbox: SandboxSpecInput;
  image: { id: string; ref: string; config: OciImageConfig };
  user: ResolvedUser;
  /** Devices from config.devices, resolved on the host (same order). */
  devices: ResolvedDevice[];
  /** All host devices, used only when privileged. */
  hostDevices: ResolvedDevice[];
  /** The parsed Localhost seccomp profile, when the config asks for one. */
  localhostSeccompProfile?: unknown;
  /** The pid of the TARGET container, when pidMode is TARGET. */
  targetPid?: number;
  defaults: RuntimeSpecDefaults;
  /** The requested CDI devices' edits (resolved from the spec files outside), applied last. */
  cdiEdits?: CdiEdits;
}
