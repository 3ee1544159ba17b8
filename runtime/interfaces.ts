/**
 * The narrow interfaces runtime/ consumes (docs/contributing.md, "Layers"). pod/ (PodManager.getSandbox),
 * image/ (ImageService.resolveImage) and native/ implement them; tests pass fakes.
 */
import type { SandboxPaths } from '../common/sandbox-paths';
import type { NativeBinding } from '../native/binding';
import type { OciImageConfig } from './spec/inputs';

/** What runtime/ needs of a pod (a subset of pod/'s SandboxInfo). */
export interface SandboxView extends SandboxPaths {
  id: string;
  name: string;
  namespace: string;
  uid: string;
  attempt: number;
  state: 'ready' | 'notready';
  runtimeHandler: string;
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

/** The syscalls runtime/ uses (all declared: the daemon passes the checked addon, tests the fake). */
export type RuntimeNative = Pick<
  NativeBinding,
  'mount' | 'unmount' | 'idmapMount' | 'openPty' | 'setWindowSize' | 'streamFd' | 'connectSeqpacket' | 'readFiles' | 'execInContainer' | 'readSeccompFilters' | 'sealedCopy'
>;
