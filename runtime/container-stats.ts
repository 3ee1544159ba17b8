/**
 * ContainerStats / ListContainerStats / (List)PodSandboxStats: cgroup usage plus writable-layer
 * usage, with a CPU rate between two samples.
 *
 * One collection per period (default 1 s): every container and pod cgroup is read at most once per
 * period (stats-sample-cache.ts), whichever of List or single calls asks first, with at most
 * `concurrency` cgroups in flight; the CPU rate is computed when a sample is taken, so it is always
 * Δcpu/Δt between two real samples. Writable-layer usage comes from the background walker
 * (disk-usage.ts): List calls never wait for a walk; a single ContainerStats or PodSandboxStats
 * waits only for a container's first walk (walks are bounded in entries and time).
 */
import * as path from 'node:path';
import { NotFoundError } from '../common/errors';
import { readSmallFile } from '../common/read-small-file';
import { ConcurrencyLimit } from '../common/concurrency-limit';
import { readCgroupUsage, type CgroupFileReader, type CgroupUsage, type RatedUsage } from './cgroup-stats';
import { writableLayerUsage, type DiskUsageCache, type DiskUsageSample } from './disk-usage';
import type { ContainerRecord } from './container-record';
import type { NativeBinding } from '../native/binding';
import { BatchFileReader } from './batch-file-reader';
import { nowNs } from './runtime-helpers';
import type { ContainerFilter } from './container-view';
import { CpuRateTracker } from './cpu-rate';
import { SampleCache } from './stats-sample-cache';
import { readPodNetwork, type PodStatsInput, type PodStatsView } from './pod-stats';

/** A pod cgroup not sampled for this long loses its previous CPU sample (pods are not tracked here). */
const POD_SAMPLE_TTL_NS = 10 * 60 * 1e9;

/** Who a container is, as stats report it. */
export type ContainerStatsIdentity = Pick<ContainerRecord, 'id' | 'podSandboxId' | 'name' | 'attempt' | 'labels' | 'annotations'>;

export interface ContainerStatsView extends ContainerStatsIdentity {
  /** undefined when the container has no cgroup (not created in the runtime, or exited). */
  usage?: RatedUsage;
  /** usedBytes/inodesUsed are absent until the first walk of the upper dir finished. */
  writableLayer: { timestampNs: number; usedBytes?: number; inodesUsed?: number; mountpoint: string };
}

/** Reads a cgroup's usage (readCgroupUsage; tests pass a fake). */
export type UsageReader = (cgroupsPath: string, version: 1 | 2, nowNs: number) => Promise<CgroupUsage | undefined>;

/** What stats need of a container: read-only references into the records (never mutated by the reader). */
export interface StatsTarget extends ContainerStatsIdentity {
  state: ContainerRecord['state'];
  cgroupsPath: string;
  /** The container's directory (the overlay upper dir is `<dir>/upper`). */
  dir: string;
}

/** What the reader needs of the manager. */
export interface StatsSource {
  /** The containers passing `filter` (id as a prefix, as ListContainers), without copying the records. */
  statsTargets(filter?: ContainerFilter): StatsTarget[];
}

/** Options of ContainerStatsReader (tests pass fakes and a short period). */
export interface StatsReaderOptions {
  readUsage?: UsageReader;
  diskUsage?: DiskUsageCache;
  /** Reads cgroup files (when readUsage is not given) and /proc/<pid>/net/dev (default readSmallFile; berthd batches them natively). */
  readFile?: CgroupFileReader;
  /** One sample per cgroup per this many ns (default 1 s). */
  periodNs?: number;
  /** Cgroups read at once (default 4: a cgroup is 7-10 file reads, the libuv pool has 4 threads). */
  concurrency?: number;
}

type ContainerSample = RatedUsage | undefined;

const sampled = (t: StatsTarget) => t.state === 'running' || t.state === 'created';

export class ContainerStatsReader {
  /** Last CPU sample per container and per pod, for usage_nano_cores. */
  private readonly containerCpu = new CpuRateTracker();
  private readonly podCpu = new CpuRateTracker();
  private readonly containerSamples: SampleCache<ContainerSample>;
  /** Keyed by cgroup path: pods sharing a cgroup parent (none given: the default one) share one read. */
  private readonly podUsage: SampleCache<ContainerSample>;
  private readonly podNetwork: SampleCache<PodStatsView['network']>;
  private readonly readUsage: UsageReader;
  private readonly diskUsage: DiskUsageCache;
  private readonly readFile: CgroupFileReader;

  constructor(
    private readonly source: StatsSource,
    private readonly cgroupVersion: 1 | 2,
    private readonly nowNs: () => number,
    opts: StatsReaderOptions = {},
  ) {
    this.readFile = opts.readFile ?? readSmallFile;
    const readFile = this.readFile;
    this.readUsage = opts.readUsage ?? ((cg, v, now) => readCgroupUsage(cg, v, now, readFile));
    this.diskUsage = opts.diskUsage ?? writableLayerUsage;
    const limit = new ConcurrencyLimit(opts.concurrency ?? 4);
    const period = opts.periodNs ?? 1e9;
    this.containerSamples = new SampleCache(period, nowNs, limit);
    this.podUsage = new SampleCache(period, nowNs, limit);
    this.podNetwork = new SampleCache(period, nowNs, limit);
  }

  /** Stats of one container; NotFound when unknown. */
  async stats(id: string): Promise<ContainerStatsView> {
    const target = this.source.statsTargets({ id }).find((c) => c.id === id || c.id.startsWith(id));
    if (!target) throw new NotFoundError(`container ${id} not found`);
    return this.read(target, true);
  }

  /** Stats of every created or running container passing `filter`. */
  async list(filter?: ContainerFilter): Promise<ContainerStatsView[]> {
    this.forgetGone();
    return Promise.all(this.source.statsTargets(filter).filter(sampled).map((t) => this.read(t, false)));
  }

  /** Stats of a pod (facts from the pod layer), its CPU rate and its containers' stats. */
  async podStats(pod: PodStatsInput): Promise<PodStatsView> {
    return (await this.podStatsOf([pod], true))[0];
  }

  /** Stats of many pods in one collection (ListPodSandboxStats): the containers are listed once, not once per pod. */
  listPodStats(pods: PodStatsInput[]): Promise<PodStatsView[]> {
    return this.podStatsOf(pods, false);
  }

  private async podStatsOf(pods: PodStatsInput[], waitForDisk: boolean): Promise<PodStatsView[]> {
    this.forgetGone();
    this.podUsage.prune();
    this.podNetwork.prune();
    this.podCpu.forgetOlderThan(this.nowNs() - POD_SAMPLE_TTL_NS);
    const byPod = new Map<string, StatsTarget[]>();
    for (const t of this.source.statsTargets()) {
      if (!sampled(t)) continue;
      const list = byPod.get(t.podSandboxId);
      if (list) list.push(t);
      else byPod.set(t.podSandboxId, [t]);
    }
    return Promise.all(
      pods.map(async (pod) => {
        const cg = pod.cgroupParent;
        const [usage, network, containers] = await Promise.all([
          cg ? this.podUsage.get(cg, (now) => this.takeCgroupSample(this.podCpu, cg, cg, now)) : undefined,
          this.podNetwork.get(pod.id, (now) => readPodNetwork(pod.netnsPid, now, this.readFile)),
          Promise.all((byPod.get(pod.id) ?? []).map((t) => this.read(t, waitForDisk))),
        ]);
        return { pod, usage, network, containers };
      }),
    );
  }

  /** Forgets the samples of containers that are gone or exited (not those a filter left out). */
  private forgetGone(): void {
    const live = new Set(this.source.statsTargets().filter((t) => t.state !== 'exited').map((t) => t.id));
    this.containerCpu.retain(live);
    this.containerSamples.retain(live);
  }

  /** Reads a cgroup and records its CPU sample under `key` in `tracker`: the rate is between this sample and the previous one. */
  private async takeCgroupSample(tracker: CpuRateTracker, key: string, cgroupsPath: string, now: number): Promise<ContainerSample> {
    const u = await this.readUsage(cgroupsPath, this.cgroupVersion, now);
    if (!u) return undefined;
    const rate = tracker.rate(key, u.timestampNs, u.cpuUsageNs);
    return rate === undefined ? u : { ...u, cpuUsageNanoCores: rate };
  }

  private async read(t: StatsTarget, waitForDisk: boolean): Promise<ContainerStatsView> {
    const usage = t.state !== 'exited' && t.cgroupsPath ? await this.containerSamples.get(t.id, (now) => this.takeCgroupSample(this.containerCpu, t.id, t.cgroupsPath, now)) : undefined;
    const upper = t.dir ? path.join(t.dir, 'upper') : '';
    let disk: DiskUsageSample | undefined = upper ? this.diskUsage.latest(upper) : undefined;
    if (upper && !disk && waitForDisk) disk = { usage: await this.diskUsage.usage(upper), atMs: Date.now() };
    return {
      id: t.id,
      podSandboxId: t.podSandboxId,
      name: t.name,
      attempt: t.attempt,
      labels: t.labels,
      annotations: t.annotations,
      usage,
      writableLayer: disk
        ? { timestampNs: disk.atMs * 1e6, usedBytes: disk.usage.bytes, inodesUsed: disk.usage.inodes, mountpoint: upper }
        : { timestampNs: this.nowNs(), mountpoint: upper },
    };
  }
}

/** berthd's reader: with the addon, cgroup files are read in native batches (32 cgroups in flight make batches of ~220 files). */
export function statsReaderFor(source: StatsSource, cgroupVersion: 1 | 2, native: Pick<NativeBinding, 'readFiles'>): ContainerStatsReader {
  return new ContainerStatsReader(source, cgroupVersion, nowNs, { readFile: new BatchFileReader(native.readFiles.bind(native)).read, concurrency: 32 });
}

/** The stats target of a record: references, not copies (the reader only reads them). */
export function statsTargetOf(r: ContainerRecord): StatsTarget {
  return { id: r.id, podSandboxId: r.podSandboxId, name: r.name, attempt: r.attempt, labels: r.labels, annotations: r.annotations, state: r.state, cgroupsPath: r.cgroupsPath, dir: r.paths.dir };
}
