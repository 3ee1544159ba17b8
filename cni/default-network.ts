/**
 * berth's embedded default network, used when the config dir holds no valid network: a Linux
 * bridge with host-local IPAM on berth's own subnet and data dir (never /var/lib/cni/networks, so
 * berth cannot collide with another runtime's IP allocations), then portmap, bandwidth and
 * firewall when those plugins are installed.
 */
import { findPluginBinary } from './plugin-exec';
import { NetworkConfigList, PluginConf } from './types';

/** What the daemon configures for the default network. */
export interface DefaultNetworkOptions {
  name: string;
  /** Linux bridge name (≤ 15 characters). */
  bridge: string;
  /** IPv4 CIDR, e.g. 10.88.0.0/16. */
  subnet: string;
  /** host-local's allocation directory, under berth's own state dir. */
  ipamDataDir: string;
  /**
   * Add the `firewall` plugin (accepts pod traffic in FORWARD even when the policy is DROP, as
   * on Docker hosts). Off by default: it costs ~70 ms of iptables calls per ADD on a 2-core VM.
   */
  firewall?: boolean;
}

/** The CNI version the embedded list speaks; Debian 12's plugins (1.1.x) top out at 1.0.0. */
const DEFAULT_NETWORK_CNI_VERSION = '1.0.0';

/** Builds the default list; `bridge` is required, the chained plugins only when installed. */
export async function buildDefaultNetwork(
  opts: DefaultNetworkOptions,
  pluginDirs: string[],
): Promise<{ config: NetworkConfigList; missing: string[] }> {
  const plugins: PluginConf[] = [
    {
      type: 'bridge',
      bridge: opts.bridge,
      isGateway: true,
      // NAT for pod egress is one network-wide rule berth installs itself (masquerade.ts).
      ipMasq: false,
      hairpinMode: true,
      ipam: {
        type: 'host-local',
        ranges: [[{ subnet: opts.subnet }]],
        routes: [{ dst: '0.0.0.0/0' }],
        dataDir: opts.ipamDataDir,
      },
    },
  ];
  const missing: string[] = [];
  for (const type of ['bridge', 'host-local']) {
    if (!(await findPluginBinary(type, pluginDirs))) missing.push(type);
  }
  const optional: PluginConf[] = [
    // snat so that a pod reaching its own hostPort via 127.0.0.1/the node IP gets answers back.
    { type: 'portmap', capabilities: { portMappings: true }, snat: true },
    { type: 'bandwidth', capabilities: { bandwidth: true } },
  ];
  if (opts.firewall) optional.push({ type: 'firewall' });
  for (const plugin of optional) {
    if (await findPluginBinary(plugin.type, pluginDirs)) plugins.push(plugin);
  }
  return { config: { cniVersion: DEFAULT_NETWORK_CNI_VERSION, name: opts.name, plugins }, missing };
}

/**
 * The default list trimmed for one pod: a plugin that exists only to serve capabilities
 * (portmap, bandwidth) is left out when the pod supplies none of them. Each plugin exec costs
 * 10–130 ms here, and the trimmed list is what the result cache stores, so DEL matches ADD.
 * Only applied to berth's own default network, never to an operator's configuration.
 */
export function trimDefaultNetworkForPod(config: NetworkConfigList, capabilityArgs: Record<string, unknown>): NetworkConfigList {
  const plugins = config.plugins.filter((plugin) => {
    const declared = Object.entries(plugin.capabilities ?? {}).filter(([, on]) => on === true).map(([name]) => name);
    return declared.length === 0 || declared.some((name) => name in capabilityArgs);
  });
  return { ...config, plugins };
}
