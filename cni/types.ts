/**
 * Public types of the CNI layer and the CNI wire shapes we read.
 * Shapes follow the CNI spec 1.0/1.1 (github.com/containernetworking/cni SPEC.md).
 */

/** The pod a network is set up for; `id` is the sandbox id (CNI_CONTAINERID). */
export interface CniPodRef {
  id: string;
  name: string;
  namespace: string;
  uid: string;
  /** Pinned network namespace path (CNI_NETNS). */
  netnsPath: string;
}

/** One hostPort → containerPort mapping (the `portMappings` capability). */
export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp' | 'sctp';
  hostIP?: string;
}

/** Traffic shaping in bits per second (the `bandwidth` capability). */
export interface PodBandwidth {
  ingressBps?: number;
  egressBps?: number;
}

/** DNS settings handed to plugins declaring the `dns` capability. */
export interface PodDns {
  servers: string[];
  searches: string[];
  options: string[];
}

/** Everything setUpPod needs. */
export type PodNetworkRequest = CniPodRef & {
  portMappings: PortMapping[];
  bandwidth?: PodBandwidth;
  dns?: PodDns;
  /** `lo` is up in the netns already (the pod layer made the namespace natively): skip the loopback plugin. */
  loopbackUp?: boolean;
};

/** What setUpPod returns. */
export interface PodNetworkResult {
  /** Pod IPs without prefix length; primary first (IPv4 before IPv6). */
  ips: string[];
  /** The interface inside the pod (CNI_IFNAME). */
  interfaceName: string;
  /** The final CNI result JSON of the chain. */
  raw: unknown;
}

/** Readiness as reported by CRI Status (NetworkReady condition). */
export interface NetworkStatus {
  ready: boolean;
  reason?: string;
  message?: string;
  networkName?: string;
}

/** One plugin entry of a network configuration list; other keys pass through to the plugin. */
export interface PluginConf {
  type: string;
  capabilities?: Record<string, boolean>;
  [key: string]: unknown;
}

/** A validated network configuration list (a `.conf` is wrapped into one). */
export interface NetworkConfigList {
  cniVersion: string;
  name: string;
  disableCheck?: boolean;
  plugins: PluginConf[];
}

/** A network chosen for use, with where it came from. */
export interface SelectedNetwork {
  config: NetworkConfigList;
  /** The file it was loaded from, or 'embedded-default'. */
  source: string;
}

/** The parts of a CNI result we read (0.3.0 … 1.1.0 all share these). */
export interface CniResult {
  cniVersion?: string;
  interfaces?: Array<{ name?: string; mac?: string; sandbox?: string }>;
  ips?: Array<{ address?: string; gateway?: string; interface?: number; version?: string }>;
  routes?: unknown[];
  dns?: unknown;
  [key: string]: unknown;
}
