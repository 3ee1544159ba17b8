/**
 * The runtime-information RPCs (Version, Status, RuntimeConfig) as one CriHandlers map for the
 * daemon to merge. `RuntimeStatusSource` is the narrow view of the daemon's state they need.
 */
import type { CriHandlers } from '../handlers';
import { runtimeConfig } from './runtime-config';
import { status } from './status';
import { updateRuntimeConfig } from './update-runtime-config';
import { version } from './version';

/** Feature flags of one runtime handler, as reported in StatusResponse. */
export interface RuntimeHandlerFeatureFlags {
  recursiveReadOnlyMounts?: boolean;
  userNamespaces?: boolean;
}

/** What Status reports, read on every call (kubelet polls it every few seconds). */
export interface RuntimeStatusSource {
  /** Readiness of pod networking (the CNI network). */
  networkReady(): { ready: boolean; reason?: string; message?: string };
  /** Configured runtime handlers; the default one may be listed under "" too. */
  runtimeHandlers(): ReadonlyArray<{ name: string; features?: RuntimeHandlerFeatureFlags }>;
  /** Debug information for verbose Status; values should be JSON text (plain text is quoted). */
  verboseInfo(): Record<string, string>;
}

/** Dependencies of the info handlers. */
export interface RuntimeInfoDeps {
  /** berth's version, e.g. "0.1.0". */
  runtimeVersion: string;
  status: RuntimeStatusSource;
  cgroupDriver: 'cgroupfs' | 'systemd';
  /** More verbose Status entries from the domain layers (e.g. `apparmor`); JSON text values. */
  extraInfo?: () => Record<string, string>;
  /** CRI-level features (RuntimeFeatures); all default to false. */
  features?: { supplementalGroupsPolicy?: boolean; userNamespacesHostNetwork?: boolean };
}

/** The Version, Status, RuntimeConfig and UpdateRuntimeConfig handlers. */
export function runtimeInfoHandlers(deps: RuntimeInfoDeps): CriHandlers {
  return {
    Version: version(deps),
    Status: status(deps),
    RuntimeConfig: runtimeConfig(deps),
    UpdateRuntimeConfig: updateRuntimeConfig(),
  };
}
