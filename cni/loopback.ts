/**
 * Brings up `lo` in a pod's netns with the standard `loopback` plugin, as cri-o and containerd
 * do, so 127.0.0.1 works inside every pod whatever the configured network does.
 */
import { PluginRunner } from './plugin-exec';

/** The CNI version we speak to `loopback` (every plugins release since 0.8 supports 0.3.1+). */
const LOOPBACK_CNI_VERSION = '0.3.1';

/** Runs loopback ADD for `netns`. DEL is unnecessary: lo dies with the namespace. */
export async function bringUpLoopback(
  runner: PluginRunner,
  pluginDirs: string[],
  containerId: string,
  netns: string,
  timeoutMs: number,
): Promise<void> {
  await runner.run({
    command: 'ADD',
    pluginType: 'loopback',
    pluginDirs,
    containerId,
    netns,
    ifName: 'lo',
    config: { cniVersion: LOOPBACK_CNI_VERSION, name: 'cni-loopback', type: 'loopback' },
    timeoutMs,
  });
}
