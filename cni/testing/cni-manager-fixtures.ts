/** CniManager options for the fake-plugin tests. */
import * as path from 'node:path';
import { silentLogger } from '../../common/logger';
import type { CniManagerOptions } from '../cni-manager';

/** Options reading `configDir`, running plugins from `pluginDirs`, caching under `root`, with a default network, no loopback or masquerade and fast config watching; `extra` wins. */
export function fakeCniOptions(root: string, configDir: string, pluginDirs: string[], extra: Partial<CniManagerOptions> = {}): CniManagerOptions {
  return {
    configDir,
    pluginDirs,
    cacheDir: path.join(root, 'cache'),
    defaultNetwork: { name: 'berthdef', bridge: 'bdef0', subnet: '10.250.0.0/24', ipamDataDir: path.join(root, 'ipam') },
    logger: silentLogger,
    loopback: false,
    defaultNetworkMasquerade: false,
    watchDebounceMs: 20,
    watchPollMs: 50,
    ...extra,
  };
}
