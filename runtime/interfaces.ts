/**
 * The narrow interfaces runtime/ consumes (docs/contributing.md, "Layers"). pod/ (PodManager.getSandbox),
 * image/ (ImageService.resolveImage) and native/ implement them; tests pass fakes.
 */
import type { UserNamespaceMappings } from '../common/id-mappings';
import type { NativeBinding } from '../native/binding';
import type { OciImageConfig } from './spec/inputs';

/** What runtime/ needs of a pod (a subset of pod/'s SandboxInfo). */
export interface SandboxView {
  id: string;
  name: string;
  namespace: string;
  uid: string;
  attempt: number;
  state: 'ready' | 'notready';
  runtimeHandler: string;
  namespacePaths: { net?: string; ipc?: string; uts?: string; pid?: string; user?: string };
  /** The pod's user namespace mappings; undefined: the host's user namespace. */
  userNamespace?: UserNamespaceMappings;
  cgroupParent: string;
  hostnamePath: string;
  hostsPath: string;
  resolvConfPath: string;
  shmPath?: string;
  logDirectory: string;
  /** The pod's hostname (falls back to config.hostname). */
  hostname?: string;
  /** The CRI PodSandboxConfig as received (stored with the pod); the hostname and privileged are read here. */
  config?: { hostname?: string | null; linux?: { securityContext?: { privileged?: boolean | null } | null } | null };
}

/** Finds pods by id (implemented by pod/'s PodManager). */
export interface SandboxLookup {
  getSandbox(id: string): SandboxView | undefined;
}

/** An image ready to run. */
export interface ResolvedImage {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  config: OciImageConfig;
  /** overlay lowerdirs, topmost layer first. */
  lowerDirs: string[];
}

/** Finds images by reference or id (implemented by image/'s ImageService). */
export interface ImageLookup {
  resolveImage(ref: string): Promise<ResolvedImage | undefined>;
}

/** Tells the image store which containers' image volumes use an image (implemented by image/'s ImageService). */
export interface ImageUseRegistry {
  addImageUser(imageId: string, containerId: string): void;
  removeImageUser(imageId: string, containerId: string): void;
}

/** The syscalls runtime/ uses. */
export type RuntimeNative = Pick<NativeBinding, 'mount' | 'unmount'> & Partial<Pick<NativeBinding, 'idmapMount' | 'execInContainer' | 'readSeccompFilters'>>;
