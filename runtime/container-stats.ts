/** ContainerStats / ListContainerStats: cgroup usage plus writable-layer usage, with a CPU rate from the previous sample. */
import * as path from 'node:path';
import { NotFoundError } from '../common/errors';
import { readCgroupUsage, type CgroupUsage } from './cgroup-stats';
import { writableLayerUsage, type DiskUsageCache } from './disk-usage';
import type { ContainerFilter, ContainerStatusView } from './container-view';
import { CpuRateTracker } from './cpu-rate';
import { readPodStats, type PodStatsInput, type PodStatsView } from './pod-stats';

/** A pod not sampled for this long loses its previous CPU sample (pods are not tracked here). */
const POD_SAMPLE_TTL_NS = 10 * 60 * 1e9;

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

/** Reads a cgroup's usage (readCgroupUsage; tests pass a fake). */
export type UsageReader = (cgroupsPath: string, version: 1 | 2, nowNs: number) => Promise<CgroupUsage | undefined>;

/** What the reader needs of the manager. */
export interface StatsSource {
  listContainers(filter?: ContainerFilter): ContainerStatusView[];
  containerPaths(id: string): { cgroupsPath: string; dir: string; state: string } | undefined;
}

export class ContainerStatsReader {
  /** Last CPU sample per container and per pod, for usage_nano_cores. */
  private readonly containerCpu = new CpuRateTracker();
  private readonly podCpu = new CpuRateTracker();

  constructor(
    private readonly source: StatsSource,
    private readonly cgroupVersion: 1 | 2,
    private readonly nowNs: () => number,
    private readonly readUsage: UsageReader = readCgroupUsage,
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
    // Forget containers that are gone, not those the filter left out: a pod's stats must not
    // reset the other pods' containers' rates.
    this.containerCpu.retain(new Set(this.source.listContainers().filter((c) => c.state !== 'exited').map((c) => c.id)));
    return Promise.all(views.map((v) => this.read(v)));
  }

  /** Stats of a pod (facts from the pod layer), its CPU rate and its containers' stats. */
  async podStats(pod: PodStatsInput): Promise<PodStatsView> {
    const containers = await this.list({ podSandboxId: pod.id });
    const now = this.nowNs();
    const view = await readPodStats(pod, containers, this.cgroupVersion, now, this.readUsage);
    this.podCpu.forgetOlderThan(now - POD_SAMPLE_TTL_NS);
    if (view.usage) {
      const rate = this.podCpu.rate(pod.id, view.usage.timestampNs, view.usage.cpuUsageNs);
      if (rate !== undefined) view.usage = { ...view.usage, cpuUsageNanoCores: rate };
    }
    return view;
  }

  private async read(view: ContainerStatusView): Promise<ContainerStatsView> {
    const paths = this.source.containerPaths(view.id);
    const now = this.nowNs();
    let usage: ContainerStatsView['usage'];
    if (paths && view.state !== 'exited' && paths.cgroupsPath) {
      const u = await this.readUsage(paths.cgroupsPath, this.cgroupVersion, now);
      if (u) {
        const rate = this.containerCpu.rate(view.id, now, u.cpuUsageNs);
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
