/**
 * What berth passes to plugins besides the network config: CNI_ARGS (the K8S_POD_* keys kubelet
 * conventions define) and `runtimeConfig` capability arguments (the CNI project's conventions document), of which a
 * plugin receives only those it declares in `capabilities`.
 */
import { PodBandwidth, PodDns, PodNetworkRequest, PluginConf, NetworkConfigList, CniResult } from './types';

/** Burst sent with a rate: effectively unlimited (what kubelet's dockershim sent), so the rate alone shapes. */
const UNLIMITED_BURST = 2147483647;

/** `IgnoreUnknown=1;K8S_POD_NAMESPACE=…;K8S_POD_NAME=…;K8S_POD_INFRA_CONTAINER_ID=…;K8S_POD_UID=…`. */
export function buildCniArgs(pod: { id: string; name: string; namespace: string; uid: string }): string {
  return [
    'IgnoreUnknown=1',
    `K8S_POD_NAMESPACE=${pod.namespace}`,
    `K8S_POD_NAME=${pod.name}`,
    `K8S_POD_INFRA_CONTAINER_ID=${pod.id}`,
    `K8S_POD_UID=${pod.uid}`,
  ].join(';');
}

/** Every capability argument the request supplies, keyed by capability name. */
export function buildCapabilityArgs(req: PodNetworkRequest): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  // kubelet sends every declared containerPort; only those with a hostPort are mappings (as in
  // cri-o and containerd, which skip hostPort <= 0).
  const mapped = req.portMappings.filter((m) => m.hostPort > 0);
  if (mapped.length > 0) {
    args.portMappings = mapped.map((m) => {
      const entry: Record<string, unknown> = { hostPort: m.hostPort, containerPort: m.containerPort, protocol: m.protocol };
      if (m.hostIP) entry.hostIP = m.hostIP;
      return entry;
    });
  }
  const bandwidth = bandwidthArgs(req.bandwidth);
  if (bandwidth) args.bandwidth = bandwidth;
  if (req.dns && (req.dns.servers.length > 0 || req.dns.searches.length > 0 || req.dns.options.length > 0)) {
    args.dns = dnsArgs(req.dns);
  }
  return args;
}

function bandwidthArgs(bw: PodBandwidth | undefined): Record<string, number> | undefined {
  if (!bw) return undefined;
  const out: Record<string, number> = {};
  if (bw.ingressBps !== undefined && bw.ingressBps > 0) {
    out.ingressRate = Math.floor(bw.ingressBps);
    out.ingressBurst = UNLIMITED_BURST;
  }
  if (bw.egressBps !== undefined && bw.egressBps > 0) {
    out.egressRate = Math.floor(bw.egressBps);
    out.egressBurst = UNLIMITED_BURST;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function dnsArgs(dns: PodDns): Record<string, string[]> {
  return { servers: [...dns.servers], searches: [...dns.searches], options: [...dns.options] };
}

/** The stdin config of one plugin: its entry plus list name/version, declared runtimeConfig, prevResult. */
export function buildPluginConfig(
  list: NetworkConfigList,
  plugin: PluginConf,
  capabilityArgs: Record<string, unknown>,
  prevResult: CniResult | undefined,
): Record<string, unknown> {
  const config: Record<string, unknown> = { ...plugin, cniVersion: list.cniVersion, name: list.name };
  delete config.runtimeConfig; // only the runtime sets runtimeConfig
  delete config.prevResult;
  const runtimeConfig: Record<string, unknown> = {};
  for (const [capability, enabled] of Object.entries(plugin.capabilities ?? {})) {
    if (enabled === true && capability in capabilityArgs) runtimeConfig[capability] = capabilityArgs[capability];
  }
  if (Object.keys(runtimeConfig).length > 0) config.runtimeConfig = runtimeConfig;
  if (prevResult !== undefined) config.prevResult = prevResult;
  return config;
}
