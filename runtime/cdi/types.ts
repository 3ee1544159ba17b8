/**
 * CDI (Container Device Interface) spec files as berth reads them (spec versions 0.3.0 to 0.8.0),
 * and the resolved edits the pure spec builder applies. Field names follow the spec's JSON.
 */

/** One device node edit. */
export interface CdiDeviceNode {
  /** Path inside the container. */
  path: string;
  /** Path on the host (0.5.0+); `path` when absent. */
  hostPath?: string;
  type?: 'b' | 'c' | 'u' | 'p';
  major?: number;
  minor?: number;
  fileMode?: number;
  /** cgroup access: a subset of "rwm" ("rwm" when absent). */
  permissions?: string;
  uid?: number;
  gid?: number;
}

export interface CdiMount {
  hostPath: string;
  containerPath: string;
  /** Filesystem type (0.4.0+). */
  type?: string;
  options?: string[];
}

export type CdiHookName = 'prestart' | 'createRuntime' | 'createContainer' | 'startContainer' | 'poststart' | 'poststop';

export interface CdiHook {
  hookName: CdiHookName;
  path: string;
  args?: string[];
  env?: string[];
  timeout?: number;
}

export interface CdiIntelRdt {
  closID?: string;
  l3CacheSchema?: string;
  memBwSchema?: string;
  enableCMT?: boolean;
  enableMBM?: boolean;
}

export interface CdiContainerEdits {
  env?: string[];
  deviceNodes?: CdiDeviceNode[];
  mounts?: CdiMount[];
  hooks?: CdiHook[];
  /** 0.7.0+. */
  additionalGids?: number[];
  /** 0.7.0+. */
  intelRdt?: CdiIntelRdt;
}

export interface CdiDevice {
  name: string;
  annotations?: Record<string, string>;
  containerEdits: CdiContainerEdits;
}

/** A validated spec file. */
export interface CdiSpec {
  cdiVersion: string;
  /** `vendor/class`. */
  kind: string;
  annotations?: Record<string, string>;
  devices: CdiDevice[];
  /** Applied once when any device of this spec is requested. */
  containerEdits?: CdiContainerEdits;
}

/** A device node ready for the OCI spec: every number known. */
export interface CdiResolvedNode {
  path: string;
  type: 'b' | 'c' | 'u' | 'p';
  major: number;
  minor: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
  permissions: string;
}

/** What the requested CDI devices add to a container's OCI spec (pure data, applied by runtime/cdi/apply.ts). */
export interface CdiEdits {
  /** The fully-qualified names injected, in request order. */
  devices: string[];
  env: string[];
  deviceNodes: CdiResolvedNode[];
  mounts: CdiMount[];
  hooks: CdiHook[];
  additionalGids: number[];
  intelRdt?: CdiIntelRdt;
}

/** One requested device and the request field it came from (for messages). */
export interface CdiRequest {
  /** `vendor/class=name`. */
  name: string;
  /** e.g. `cdi_devices[0]` or `annotations["cdi.k8s.io/gpu"]`. */
  field: string;
}
