/** Converts runtime/'s container stats into CRI ContainerStats messages. */
import type { ContainerStatsView } from '../../runtime/container-stats';
import type { runtime } from '../api/generated/cri';

const u64 = (value: number | undefined) => (value === undefined ? undefined : { value });

/** One ContainerStats message. */
export function statsToWire(s: ContainerStatsView): runtime.v1.IContainerStats {
  const u = s.usage;
  return {
    attributes: { id: s.id, metadata: { name: s.name, attempt: s.attempt }, labels: s.labels, annotations: s.annotations },
    cpu: u ? { timestamp: u.timestampNs, usageCoreNanoSeconds: u64(u.cpuUsageNs), usageNanoCores: u64(u.cpuUsageNanoCores) } : undefined,
    memory: u
      ? {
          timestamp: u.timestampNs,
          workingSetBytes: u64(u.memoryWorkingSetBytes),
          availableBytes: u64(u.memoryAvailableBytes),
          usageBytes: u64(u.memoryUsageBytes),
          rssBytes: u64(u.memoryRssBytes),
          pageFaults: u64(u.pageFaults),
          majorPageFaults: u64(u.majorPageFaults),
        }
      : undefined,
    writableLayer: {
      timestamp: s.writableLayer.timestampNs,
      fsId: { mountpoint: s.writableLayer.mountpoint },
      usedBytes: { value: s.writableLayer.usedBytes },
      inodesUsed: { value: s.writableLayer.inodesUsed },
    },
  };
}
