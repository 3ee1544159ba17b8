/** ContainerStats / ListContainerStats: cgroup usage plus writable-layer usage, with a CPU rate from the previous sample. */
import * as path from 'node:path';
import { NotFoundError } from '../common/errors';
import { readCgroupUsage, type CgroupUsage } from './cgroup-stats';
import { writableLayerUsage, type DiskUsageCache } from './disk-usage';
import type { ContainerFilter, ContainerStatusView } from './container-view';

export interface ContainerStatsView {
  id: string;
  podSandboxId: string;
  name: string;
  attempt: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** undefined when the container has no cgroup (not created in the runtime, or exited). */
  usage?: CgroupUsage & { cpuUsageNanoCores?: number };
  writableLayer: { timestampNs: number; usedBytes: number; inodesUsed: number; mountpoint: string };
}

/** What the reader needs of the manager. */
export interface StatsSource {
  listContainers(filter?: ContainerFilter): ContainerStatusView[];
  containerPaths(id: string): { cgroupsPath: string; dir: string; state: string } | undefined;
}

export class ContainerStatsReader {
  /** Last CPU sample per container, for usage_nano_cores. */
  private readonly lastCpu = new Map<string, { t: number; ns: number }>();

  constructor(
    private readonly source: StatsSource,
    private readonly cgroupVersion: 1 | 2,
    private readonly nowNs: () => number,
    private readonly diskUsage: DiskUsageCache = writableLayerUsage,
  ) {}

  /** Stats of one container; NotFound when unknown. */
  async stats(id: string): Promise<ContainerStatsView> {
    const view = this.source.listContainers({ id }).find((c) => c.id === id || c.id.startsWith(id));
    if (!view) throw new NotFoundError(`container ${id} not found`);
    return this.read(view);
  }

  /** Stats of every created or running container passing `filter`. */
  async list(filter?: ContainerFilter): Promise<ContainerStatsView[]> {
    const views = this.source.listContainers(filter).filter((c) => c.state === 'running' || c.state === 'created');
    const live = new Set(views.map((v) => v.id));
    for (const id of this.lastCpu.keys()) if (!live.has(id)) this.lastCpu.delete(id);
    return Promise.all(views.map((v) => this.read(v)));
  }

  private async read(view: ContainerStatusView): Promise<ContainerStatsView> {
    const paths = this.source.containerPaths(view.id);
    const now = this.nowNs();
    let usage: ContainerStatsView['usage'];
    if (paths && view.state !== 'exited' && paths.cgroupsPath) {
      const u = await readCgroupUsage(paths.cgroupsPath, this.cgroupVersion, now);
      if (u) {
        const prev = this.lastCpu.get(view.id);
        const rate = prev && now > prev.t && u.cpuUsageNs >= prev.ns ? Math.round(((u.cpuUsageNs - prev.ns) / (now - prev.t)) * 1e9) : undefined;
        this.lastCpu.set(view.id, { t: now, ns: u.cpuUsageNs });
        usage = { ...u, ...(rate !== undefined ? { cpuUsageNanoCores: rate } : {}) };
      }
    }
    const upper = paths ? path.join(paths.dir, 'upper') : '';
    const disk = upper ? await this.diskUsage.usage(upper) : { bytes: 0, inodes: 0 };
    return {
      id: view.id,
      podSandboxId: view.podSandboxId,
      name: view.name,
      attempt: view.attempt,
      labels: view.labels,
      annotations: view.annotations,
      usage,
      writableLayer: { timestampNs: now, usedBytes: disk.bytes, inodesUsed: disk.inodes, mountpoint: upper },
    };
  }
}
