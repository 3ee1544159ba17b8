/**
 * What a pod shares with its containers on the host: the pinned namespaces they join, its user
 * namespace, its cgroup parent and the files mounted into every container. pod/ fills it in;
 * runtime/ reads it (neither imports the other, so the shape lives here).
 */
import type { UserNamespaceMappings } from './id-mappings';

/** Paths of the pinned namespaces; an absent kind is the host's. */
export interface NamespacePaths {
  net?: string;
  ipc?: string;
  uts?: string;
  pid?: string;
  user?: string;
}

/** The host side of a pod that its containers join or mount. */
export interface SandboxPaths {
  /** Pinned namespace paths; an absent entry means the host's namespace. */
  namespacePaths: NamespacePaths;
  /** The pod's user namespace mappings; undefined: the host's user namespace. */
  userNamespace?: UserNamespaceMappings;
  /** The cgroup parent containers of this pod go under (cgroupfs path). */
  cgroupParent: string;
  hostnamePath: string;
  hostsPath: string;
  resolvConfPath: string;
  shmPath?: string;
}
