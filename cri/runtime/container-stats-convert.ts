/** Converts runtime/'s container stats into CRI ContainerStats messages. */
import type { PsiStats, RatedUsage } from '../../runtime/cgroup-stats';
import type { ContainerStatsView } from '../../runtime/container-stats';
import type { runtime } from '../api/generated/cri';

const u64 = (value: number | undefined) => (value === undefined ? undefined : { value });

/** CRI PsiStats (upstream spells its fields Full/Some/Total/Avg10…). */
export function psiToWire(p: PsiStats | undefined): runtime.v1.IPsiStats | undefined {
  if (!p) return undefined;
  const data = (d: PsiStats['some']) => (d ? { Total: d.totalNs, Avg10: d.avg10, Avg60: d.avg60, Avg300: d.avg300 } : undefined);
  return { Full: data(p.full), Some: data(p.some) };
}

/** The cpu / memory / swap / io messages of a cgroup's usage (shared by container and pod stats). */
export function usageToWire(u: RatedUsage | undefined): Pick<runtime.v1.IContainerStats, 'cpu' | 'memory' | 'swap' | 'io'> {
  if (!u) return {};
  return {
    cpu: { timestamp: u.timestampNs, usageCoreNanoSeconds: u64(u.cpuUsageNs), usageNanoCores: u64(u.cpuUsageNanoCores), ...(u.psi?.cpu ? { psi: psiToWire(u.psi.cpu) } : {}) },
    memory: {
      timestamp: u.timestampNs,
      workingSetBytes: u64(u.memoryWorkingSetBytes),
      availableBytes: u64(u.memoryAvailableBytes),
      usageBytes: u64(u.memoryUsageBytes),
      rssBytes: u64(u.memoryRssBytes),
      pageFaults: u64(u.pageFaults),
      majorPageFaults: u64(u.majorPageFaults),
      ...(u.psi?.memory ? { psi: psiToWire(u.psi.memory) } : {}),
    },
    ...(u.swapUsageBytes !== undefined
      ? { swap: { timestamp: u.timestampNs, swapUsageBytes: u64(u.swapUsageBytes), ...(u.swapAvailableBytes !== undefined ? { swapAvailableBytes: u64(u.swapAvailableBytes) } : {}) } }
      : {}),
    ...(u.psi?.io ? { io: { timestamp: u.timestampNs, psi: psiToWire(u.psi.io) } } : {}),
  };
}

/** One ContainerStats message. */
export function statsToWire(s: ContainerStatsView): runtime.v1.IContainerStats {
  return {
    attributes: { id: s.id, metadata: { name: s.name, attempt: s.attempt }, labels: s.labels, annotations: s.annotations },
    ...usageToWire(s.usage),
    writableLayer: {
      timestamp: s.writableLayer.timestampNs,
      fsId: { mountpoint: s.writableLayer.mountpoint },
      usedBytes: u64(s.writableLayer.usedBytes),
      inodesUsed: u64(s.writableLayer.inodesUsed),
    },
  };
}
