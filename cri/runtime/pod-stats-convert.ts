/** PodSandboxStats messages from runtime/'s pod stats, and the pod facts from the pod layer. */
import type { PodStatsInput, PodStatsView } from '../../runtime/pod-stats';
import type { runtime } from '../api/generated/cri';
import { statsToWire, usageToWire } from './container-stats-convert';

/** What the pod stats handlers need of the pod layer (pod/PodManager fits). */
export interface PodStatsSource {
  /** NotFoundError for an unknown id. */
  podSandboxStatus(id: string): Omit<PodStatsInput, 'netnsPid'> & { verbose: { pausePid?: number } };
  listPodSandboxes(filter?: { id?: string; labelSelector?: Record<string, string> }): Array<{ id: string }>;
}

/** The pod facts runtime/ needs, from the pod layer's status. */
export function podStatsInput(status: ReturnType<PodStatsSource['podSandboxStatus']>): PodStatsInput {
  return {
    id: status.id,
    name: status.name,
    namespace: status.namespace,
    uid: status.uid,
    attempt: status.attempt,
    labels: status.labels,
    annotations: status.annotations,
    cgroupParent: status.cgroupParent,
    netnsPid: status.verbose.pausePid,
  };
}

const u64 = (value: number | undefined) => (value === undefined ? undefined : { value });

/** One PodSandboxStats message. */
export function podStatsToWire(s: PodStatsView): runtime.v1.IPodSandboxStats {
  const { cpu, memory, io } = usageToWire(s.usage);
  const u = s.usage;
  const iface = (i: { name: string; rxBytes: number; rxErrors: number; txBytes: number; txErrors: number }) => ({
    name: i.name,
    rxBytes: u64(i.rxBytes),
    rxErrors: u64(i.rxErrors),
    txBytes: u64(i.txBytes),
    txErrors: u64(i.txErrors),
  });
  return {
    attributes: { id: s.pod.id, metadata: { name: s.pod.name, namespace: s.pod.namespace, uid: s.pod.uid, attempt: s.pod.attempt }, labels: s.pod.labels, annotations: s.pod.annotations },
    linux: {
      cpu,
      memory,
      network: s.network ? { timestamp: s.network.timestampNs, defaultInterface: s.network.defaultInterface ? iface(s.network.defaultInterface) : undefined, interfaces: s.network.interfaces.map(iface) } : undefined,
      process: u?.processCount !== undefined ? { timestamp: u.timestampNs, processCount: { value: u.processCount } } : undefined,
      containers: s.containers.map(statsToWire),
      ...(io ? { io } : {}),
    },
  };
}
