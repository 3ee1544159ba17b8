/**
 * PodSandboxStats: the pod cgroup's CPU/memory/process count (it holds pause and every
 * container), network counters read from /proc/<pid>/net/dev of a process inside the pod's netns
 * (pause), and the stats of the pod's containers.
 */
import { readSmallFile } from '../common/read-small-file';
import type { CgroupFileReader, RatedUsage } from './cgroup-stats';
import type { ContainerStatsIdentity, ContainerStatsView } from './container-stats';

export interface NetworkInterfaceUsage {
  name: string;
  rxBytes: number;
  rxErrors: number;
  txBytes: number;
  txErrors: number;
  rxPackets?: number;
  rxDropped?: number;
  txPackets?: number;
  txDropped?: number;
}

/** What the pod layer tells about a pod for its stats. */
export interface PodStatsInput extends Omit<ContainerStatsIdentity, 'podSandboxId'> {
  namespace: string;
  uid: string;
  cgroupParent: string;
  /** A pid inside the pod's network namespace (pause); undefined for none. */
  netnsPid?: number;
}

export interface PodStatsView {
  pod: PodStatsInput;
  usage?: RatedUsage;
  network?: { timestampNs: number; defaultInterface?: NetworkInterfaceUsage; interfaces: NetworkInterfaceUsage[] };
  containers: ContainerStatsView[];
}

/** Parses /proc/net/dev (lo excluded: kubelet reports the pod's real interfaces). */
export function parseNetDev(text: string): NetworkInterfaceUsage[] {
  const out: NetworkInterfaceUsage[] = [];
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    const f = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    if (name === 'lo' || f.length < 16) continue;
    out.push({ name, rxBytes: f[0], rxErrors: f[2], txBytes: f[8], txErrors: f[10], rxPackets: f[1], rxDropped: f[3], txPackets: f[9], txDropped: f[11] });
  }
  return out;
}

/** The network counters of the netns `netnsPid` is in, from /proc/<pid>/net/dev; undefined when unreadable. */
export async function readPodNetwork(netnsPid: number | undefined, nowNs: number, readFile: CgroupFileReader = readSmallFile): Promise<PodStatsView['network']> {
  if (!netnsPid || netnsPid <= 0) return undefined;
  const text = await readFile(`/proc/${netnsPid}/net/dev`);
  if (text === undefined) return undefined;
  const interfaces = parseNetDev(text);
  return { timestampNs: nowNs, defaultInterface: interfaces.find((i) => i.name === 'eth0') ?? interfaces[0], interfaces };
}
