/**
 * ListPodSandboxMetrics: cAdvisor-style samples per pod (network counters of the pod netns, per
 * interface) and per created/running container (cgroup CPU, memory, processes, limits; writable
 * layer usage). Gathered live on every call, so every sample's timestamp is 0 (the CRI contract:
 * non-zero only for cached values; kubelet then stamps the scrape time).
 *
 * CPU seconds are whole seconds: CRI carries metric values as uint64 (cri-o truncates the same way).
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { ContainerFilter, ContainerStatusView } from './container-view';
import { writableLayerUsage, type DiskUsageCache } from './disk-usage';
import { readCgroupMetrics, type CgroupMetricsSample } from './metrics-cgroup';
import { CONTAINER_METRICS, METRIC_DESCRIPTORS, POD_NETWORK_METRICS, type MetricDescriptorView, type MetricKind } from './metrics-descriptors';
import { parseNetDev, type NetworkInterfaceUsage, type PodStatsInput } from './pod-stats';

/** One CRI Metric. */
export interface MetricSample {
  name: string;
  kind: MetricKind;
  labelValues: string[];
  value: number;
  /** 0: gathered live. */
  timestampNs: number;
}

/** One CRI PodSandboxMetrics. */
export interface PodSandboxMetricsView {
  podSandboxId: string;
  metrics: MetricSample[];
  containerMetrics: Array<{ containerId: string; metrics: MetricSample[] }>;
}

/** What ListMetricDescriptors / ListPodSandboxMetrics call (cri/runtime/metrics-handlers.ts). */
export interface PodMetricsService {
  descriptors(): readonly MetricDescriptorView[];
  podMetrics(pod: PodStatsInput): Promise<PodSandboxMetricsView>;
}

/** What the collector needs of the containers (runtime/ContainerManager fits). */
export interface MetricsSource {
  listContainers(filter?: ContainerFilter): ContainerStatusView[];
  containerPaths(id: string): { cgroupsPath: string; dir: string; state: string } | undefined;
}

export interface PodMetricsCollectorOptions {
  /** The containers (runtime/ContainerManager fits). */
  containers: MetricsSource;
  /** Detected from `cgroupRoot` when omitted (cgroup.controllers at the top means v2). */
  cgroupVersion?: 1 | 2;
  cgroupRoot?: string;
  /** Where /proc is (tests pass a fake tree). */
  procRoot?: string;
  /** Wall clock in ms, for container_last_seen. */
  nowMs?: () => number;
  /** Writable-layer usage (default: the cache ContainerStats shares). */
  diskUsage?: DiskUsageCache;
}

const NS_PER_S = 1_000_000_000;

/** Collects pod and container metrics on demand. */
export class PodMetricsCollector implements PodMetricsService {
  private version: Promise<1 | 2>;
  private readonly cgroupRoot: string;
  private readonly procRoot: string;
  private readonly nowMs: () => number;

  constructor(private readonly opts: PodMetricsCollectorOptions) {
    this.cgroupRoot = opts.cgroupRoot ?? '/sys/fs/cgroup';
    this.procRoot = opts.procRoot ?? '/proc';
    this.nowMs = opts.nowMs ?? Date.now;
    this.version = opts.cgroupVersion
      ? Promise.resolve(opts.cgroupVersion)
      : fs.access(path.join(this.cgroupRoot, 'cgroup.controllers')).then(
          () => 2 as const,
          () => 1 as const,
        );
  }

  /** Every descriptor (static). */
  descriptors(): readonly MetricDescriptorView[] {
    return METRIC_DESCRIPTORS;
  }

  /** Metrics of one pod and its created/running containers. */
  async podMetrics(pod: PodStatsInput): Promise<PodSandboxMetricsView> {
    const views = this.opts.containers.listContainers({ podSandboxId: pod.id }).filter((c) => c.podSandboxId === pod.id && (c.state === 'running' || c.state === 'created'));
    const [network, containerMetrics] = await Promise.all([
      this.networkMetrics(pod),
      Promise.all(views.map(async (v) => ({ containerId: v.id, metrics: await this.containerMetrics(v.id, [v.id, v.name, v.image.requested]) }))),
    ]);
    return { podSandboxId: pod.id, metrics: network, containerMetrics };
  }

  private async networkMetrics(pod: PodStatsInput): Promise<MetricSample[]> {
    if (!pod.netnsPid || pod.netnsPid <= 0) return [];
    const text = await fs.readFile(path.join(this.procRoot, String(pod.netnsPid), 'net', 'dev'), 'utf8').catch(() => undefined);
    if (text === undefined) return [];
    return parseNetDev(text).flatMap((iface) => networkSamples(iface, [pod.id, 'POD', '', iface.name]));
  }

  private async containerMetrics(id: string, labels: string[]): Promise<MetricSample[]> {
    const paths = this.opts.containers.containerPaths(id);
    if (!paths) return [];
    const upper = path.join(paths.dir, 'upper');
    const [cg, disk, fsStat] = await Promise.all([
      paths.cgroupsPath ? this.version.then((v) => readCgroupMetrics(paths.cgroupsPath, v, this.cgroupRoot)) : Promise.resolve(undefined),
      (this.opts.diskUsage ?? writableLayerUsage).usage(upper),
      fs.statfs(upper).catch(() => undefined),
    ]);
    const out: MetricSample[] = [];
    const add = (desc: MetricDescriptorView, value: number | undefined, extra: string[] = []) => {
      if (value === undefined || !Number.isFinite(value)) return;
      out.push({ name: desc.name, kind: desc.kind, labelValues: [...labels, ...extra], value: Math.max(0, Math.floor(value)), timestampNs: 0 });
    };
    if (cg) addCgroupSamples(add, cg);
    const m = CONTAINER_METRICS;
    add(m.fsUsage, disk.bytes);
    add(m.fsInodesUsed, disk.inodes);
    if (fsStat) {
      add(m.fsLimit, fsStat.blocks * fsStat.bsize);
      add(m.fsInodesTotal, fsStat.files);
      add(m.fsInodesFree, fsStat.ffree);
    }
    add(m.lastSeen, this.nowMs() / 1000);
    return out;
  }
}

type AddSample = (desc: MetricDescriptorView, value: number | undefined, extra?: string[]) => void;

/** The cgroup-derived samples of one container. */
function addCgroupSamples(add: AddSample, cg: CgroupMetricsSample): void {
  const m = CONTAINER_METRICS;
  const seconds = (ns: number | undefined) => (ns === undefined ? undefined : ns / NS_PER_S);
  add(m.cpuUsage, seconds(cg.cpu.usageNs), ['total']);
  add(m.cpuUser, seconds(cg.cpu.userNs));
  add(m.cpuSystem, seconds(cg.cpu.systemNs));
  add(m.cfsPeriods, cg.cpu.periods);
  add(m.cfsThrottledPeriods, cg.cpu.throttledPeriods);
  add(m.cfsThrottledSeconds, seconds(cg.cpu.throttledNs));
  add(m.memoryUsage, cg.memory.usage);
  add(m.memoryMaxUsage, cg.memory.maxUsage);
  add(m.memoryWorkingSet, cg.memory.workingSet);
  add(m.memoryRss, cg.memory.rss);
  add(m.memoryCache, cg.memory.cache);
  add(m.memoryMappedFile, cg.memory.mappedFile);
  add(m.memorySwap, cg.memory.swap);
  add(m.memoryFailcnt, cg.memory.failcnt);
  add(m.oomEvents, cg.memory.oomKills);
  add(m.processes, cg.pids.processes);
  add(m.threads, cg.pids.threads);
  add(m.threadsMax, cg.pids.max);
  add(m.specMemoryLimit, cg.spec.memoryLimit);
  add(m.specMemoryReservation, cg.spec.memoryReservation);
  add(m.specMemorySwapLimit, cg.spec.memorySwapLimit);
  add(m.specCpuShares, cg.spec.cpuShares);
  add(m.specCpuQuota, cg.spec.cpuQuotaUs);
  add(m.specCpuPeriod, cg.spec.cpuPeriodUs);
}

/** The eight counters of one interface of the pod netns. */
function networkSamples(i: NetworkInterfaceUsage, labels: string[]): MetricSample[] {
  const n = POD_NETWORK_METRICS;
  const pairs: Array<[MetricDescriptorView, number | undefined]> = [
    [n.rxBytes, i.rxBytes],
    [n.rxPackets, i.rxPackets],
    [n.rxDropped, i.rxDropped],
    [n.rxErrors, i.rxErrors],
    [n.txBytes, i.txBytes],
    [n.txPackets, i.txPackets],
    [n.txDropped, i.txDropped],
    [n.txErrors, i.txErrors],
  ];
  return pairs
    .filter((p): p is [MetricDescriptorView, number] => p[1] !== undefined && Number.isFinite(p[1]))
    .map(([desc, value]) => ({ name: desc.name, kind: desc.kind, labelValues: [...labels], value, timestampNs: 0 }));
}
