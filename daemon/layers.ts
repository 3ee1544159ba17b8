/**
 * Builds the domain layers (image, pod, container, CNI) from the config for startDaemon.
 *
 * INTEGRATION POINT: today no layer is constructed here, so berthd serves Version, Status and
 * RuntimeConfig only. The integrator constructs, in this order, passing plain options derived
 * from `config` and `derivedPaths(config)`:
 *   1. CniManager.create({ configDir, pluginDirs, cacheDir, defaultNetwork, logger }) → `network`
 *   2. ImageService (root/images, registriesConfig) → imageServiceHandlers(imageService)
 *   3. ContainerManager (runtimes, conmonPath, runRoot) → containerHandlers(containerManager)
 *   4. PodManager (native binding, CNI, pause uid/gid) with PodContainersHook →
 *      { stopAll: (id) => containers.stopAllInPod(id), removeAll: (id) => containers.removeAllInPod(id) }
 *      → podSandboxHandlers(podManager)
 * and returns `close()` that stops their watchers (never pods or containers).
 */
import type { Logger } from '../common/logger';
import type { BerthConfig } from './config-schema';
import type { DaemonMetrics } from './metrics';
import type { DaemonLayers } from './wiring';

/** The layers for `config` (none wired yet; see the comment above); `metrics.image`,
 * `metrics.podStart` and `metrics.cniPluginDone` are the layers' metric sinks. */
export async function buildLayers(_config: BerthConfig, _logger: Logger, _metrics: DaemonMetrics): Promise<DaemonLayers> {
  return {};
}
