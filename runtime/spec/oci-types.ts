/**
 * The subset of the OCI runtime spec (config.json, v1.0.2) that berth writes. Field names follow
 * the spec exactly because the object is serialised as-is for runc/crun.
 */

export interface OciSpec {
  ociVersion: string;
  process: OciProcess;
  root: { path: string; readonly: boolean };
  hostname?: string;
  mounts: OciMount[];
  annotations: Record<string, string>;
  linux: OciLinux;
  hooks?: OciHooks;
}

/** A lifecycle hook runc runs on the host. */
export interface OciHook {
  path: string;
  args?: string[];
  env?: string[];
  timeout?: number;
}

export interface OciHooks {
  prestart?: OciHook[];
  createRuntime?: OciHook[];
  createContainer?: OciHook[];
  startContainer?: OciHook[];
  poststart?: OciHook[];
  poststop?: OciHook[];
}

export interface OciProcess {
  terminal: boolean;
  user: { uid: number; gid: number; additionalGids?: number[]; umask?: number };
  args: string[];
  env: string[];
  cwd: string;
  capabilities?: OciCapabilities;
  rlimits?: OciRlimit[];
  noNewPrivileges: boolean;
  oomScoreAdj?: number;
  apparmorProfile?: string;
}

export interface OciCapabilities {
  bounding: string[];
  effective: string[];
  permitted: string[];
  inheritable: string[];
  ambient: string[];
}

export interface OciRlimit {
  type: string;
  hard: number;
  soft: number;
}

export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

export type OciNamespaceType = 'pid' | 'network' | 'ipc' | 'uts' | 'mount' | 'cgroup' | 'user';

export interface OciNamespace {
  type: OciNamespaceType;
  path?: string;
}

export interface OciDevice {
  type: 'c' | 'b' | 'p' | 'u';
  path: string;
  major: number;
  minor: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

export interface OciDeviceCgroupRule {
  allow: boolean;
  type?: 'a' | 'c' | 'b';
  major?: number;
  minor?: number;
  access?: string;
}

export interface OciResources {
  devices?: OciDeviceCgroupRule[];
  memory?: { limit?: number; swap?: number; reservation?: number };
  cpu?: { shares?: number; quota?: number; period?: number; cpus?: string; mems?: string };
  pids?: { limit: number };
  hugepageLimits?: Array<{ pageSize: string; limit: number }>;
  unified?: Record<string, string>;
}

export interface OciSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  syscalls?: OciSyscallRule[];
}

export interface OciSyscallRule {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: Array<{ index: number; value: number; valueTwo?: number; op: string }>;
}

/** One range of a user namespace's id map (OCI LinuxIDMapping). */
export interface OciIdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface OciLinux {
  namespaces: OciNamespace[];
  uidMappings?: OciIdMapping[];
  gidMappings?: OciIdMapping[];
  devices?: OciDevice[];
  resources?: OciResources;
  cgroupsPath?: string;
  rootfsPropagation?: string;
  seccomp?: OciSeccomp;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  sysctl?: Record<string, string>;
  mountLabel?: string;
  intelRdt?: { closID?: string; l3CacheSchema?: string; memBwSchema?: string; enableCMT?: boolean; enableMBM?: boolean };
}
