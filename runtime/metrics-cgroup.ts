/**
 * The cgroup facts behind the cAdvisor-style container metrics, from cgroup v1 controller
 * hierarchies or the v2 unified tree under `root` (default /sys/fs/cgroup; tests pass a fake
 * tree). Files that are missing read as absent, never as an error: a container's cgroup can go
 * away between listing and reading.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { cgroupFsPath, parseFlatKeyed } from './cgroup-stats';

/** What one cgroup reports; undefined fields were not readable on this host. */
export interface CgroupMetricsSample {
  cpu: { usageNs?: number; userNs?: number; systemNs?: number; periods?: number; throttledPeriods?: number; throttledNs?: number };
  memory: {
    usage?: number;
    maxUsage?: number;
    workingSet?: number;
    rss?: number;
    cache?: number;
    mappedFile?: number;
    swap?: number;
    failcnt?: number;
    oomKills?: number;
  };
  pids: { processes?: number; threads?: number; max?: number };
  /** Configured limits; 0 means unlimited/none (cAdvisor's convention). */
  spec: { memoryLimit?: number; memoryReservation?: number; memorySwapLimit?: number; cpuShares?: number; cpuQuotaUs?: number; cpuPeriodUs?: number };
}

/** v1 reports "no limit" as a huge page-aligned number. */
const V1_UNLIMITED = 2 ** 62;
/** USER_HZ: cpuacct.stat counts in clock ticks of 10 ms. */
const NS_PER_TICK = 10_000_000;

async function readText(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

async function readNumber(file: string): Promise<number | undefined> {
  const t = (await readText(file))?.trim();
  return t !== undefined && /^-?[0-9]+$/.test(t) ? Number(t) : undefined;
}

async function countLines(file: string): Promise<number | undefined> {
  const t = await readText(file);
  return t === undefined ? undefined : t.split('\n').filter((l) => l.trim() !== '').length;
}

async function isDir(p: string): Promise<boolean> {
  return fs.stat(p).then((s) => s.isDirectory(), () => false);
}

/** The directory of `cgroupsPath` in the first v1 hierarchy (of `names`) that has it. */
async function v1Dir(root: string, names: string[], cgroupsPath: string): Promise<string | undefined> {
  for (const n of names) {
    const dir = path.join(root, n, cgroupsPath);
    if (await isDir(dir)) return dir;
  }
  return undefined;
}

const limitOrZero = (v: number | undefined) => (v === undefined ? undefined : v >= V1_UNLIMITED || v < 0 ? 0 : v);

/** Reads the metrics sample of the cgroup at `cgroupsPath`; undefined when it does not exist. */
export async function readCgroupMetrics(cgroupsPath: string, version: 1 | 2, root = '/sys/fs/cgroup'): Promise<CgroupMetricsSample | undefined> {
  const dir = cgroupFsPath(cgroupsPath);
  return version === 2 ? readV2(path.join(root, dir)) : readV1(root, dir);
}

async function readV1(root: string, cg: string): Promise<CgroupMetricsSample | undefined> {
  const [cpuacct, cpu, mem, pids] = await Promise.all([
    v1Dir(root, ['cpuacct', 'cpu,cpuacct', 'cpuacct,cpu'], cg),
    v1Dir(root, ['cpu', 'cpu,cpuacct', 'cpuacct,cpu'], cg),
    v1Dir(root, ['memory'], cg),
    v1Dir(root, ['pids'], cg),
  ]);
  if (!cpuacct && !cpu && !mem && !pids) return undefined;
  const at = (dir: string | undefined, file: string) => (dir ? path.join(dir, file) : '');
  const [usageNs, acctStat, cpuStat, shares, quota, period] = await Promise.all([
    readNumber(at(cpuacct, 'cpuacct.usage')),
    readText(at(cpuacct, 'cpuacct.stat')).then((t) => (t === undefined ? undefined : parseFlatKeyed(t))),
    readText(at(cpu, 'cpu.stat')).then((t) => (t === undefined ? undefined : parseFlatKeyed(t))),
    readNumber(at(cpu, 'cpu.shares')),
    readNumber(at(cpu, 'cpu.cfs_quota_us')),
    readNumber(at(cpu, 'cpu.cfs_period_us')),
  ]);
  const [usage, maxUsage, limit, soft, memswLimit, memswUsage, failcnt, memStatText, oomControl] = await Promise.all([
    readNumber(at(mem, 'memory.usage_in_bytes')),
    readNumber(at(mem, 'memory.max_usage_in_bytes')),
    readNumber(at(mem, 'memory.limit_in_bytes')),
    readNumber(at(mem, 'memory.soft_limit_in_bytes')),
    readNumber(at(mem, 'memory.memsw.limit_in_bytes')),
    readNumber(at(mem, 'memory.memsw.usage_in_bytes')),
    readNumber(at(mem, 'memory.failcnt')),
    readText(at(mem, 'memory.stat')),
    readText(at(mem, 'memory.oom_control')),
  ]);
  const stat = memStatText === undefined ? undefined : parseFlatKeyed(memStatText);
  const pick = (k: string) => (stat ? (stat[`total_${k}`] ?? stat[k]) : undefined);
  const inactiveFile = pick('inactive_file') ?? 0;
  // cgroup.procs lists processes, tasks lists threads (pids.current counts threads); any v1 hierarchy has both.
  const anyDir = pids ?? mem ?? cpuacct ?? cpu;
  const [processes, threads, pidsMax] = await Promise.all([countLines(at(anyDir, 'cgroup.procs')), countLines(at(anyDir, 'tasks')), readNumber(at(pids, 'pids.max'))]);
  return {
    cpu: {
      usageNs,
      userNs: acctStat?.user !== undefined ? acctStat.user * NS_PER_TICK : undefined,
      systemNs: acctStat?.system !== undefined ? acctStat.system * NS_PER_TICK : undefined,
      periods: cpuStat?.nr_periods,
      throttledPeriods: cpuStat?.nr_throttled,
      throttledNs: cpuStat?.throttled_time,
    },
    memory: {
      usage,
      maxUsage,
      workingSet: usage !== undefined ? Math.max(0, usage - inactiveFile) : undefined,
      rss: pick('rss'),
      cache: pick('cache'),
      mappedFile: pick('mapped_file'),
      swap: pick('swap') ?? (memswUsage !== undefined && usage !== undefined ? Math.max(0, memswUsage - usage) : undefined),
      failcnt,
      oomKills: oomControl === undefined ? undefined : (parseFlatKeyed(oomControl).oom_kill ?? 0),
    },
    pids: { processes, threads, max: pids ? (pidsMax ?? 0) : undefined }, // "max" is not a number: unlimited (0)
    spec: {
      memoryLimit: limitOrZero(limit),
      memoryReservation: limitOrZero(soft),
      memorySwapLimit: limitOrZero(memswLimit),
      cpuShares: shares,
      cpuQuotaUs: quota === undefined ? undefined : Math.max(0, quota), // -1: no quota
      cpuPeriodUs: period,
    },
  };
}

/** cgroup v2 cpu.weight → the v1 shares it stands for (the inverse of runc's conversion, as cAdvisor does). */
export function weightToShares(weight: number): number {
  return Math.round(2 + ((weight - 1) * 262142) / 9999);
}

async function readV2(dir: string): Promise<CgroupMetricsSample | undefined> {
  if (!(await isDir(dir))) return undefined;
  const f = (name: string) => path.join(dir, name);
  const flat = (name: string) => readText(f(name)).then((t) => (t === undefined ? undefined : parseFlatKeyed(t)));
  const [cpuStat, weight, cpuMax, current, peak, max, low, swapMax, swapCurrent, events, stat, processes, threads, pidsMax] = await Promise.all([
    flat('cpu.stat'),
    readNumber(f('cpu.weight')),
    readText(f('cpu.max')),
    readNumber(f('memory.current')),
    readNumber(f('memory.peak')),
    readText(f('memory.max')),
    readNumber(f('memory.low')),
    readText(f('memory.swap.max')),
    readNumber(f('memory.swap.current')),
    flat('memory.events'),
    flat('memory.stat'),
    countLines(f('cgroup.procs')),
    countLines(f('cgroup.threads')),
    readNumber(f('pids.max')),
  ]);
  const limitOf = (t: string | undefined) => (t === undefined ? undefined : /^[0-9]+$/.test(t.trim()) ? Number(t.trim()) : 0);
  const [quota, period] = (cpuMax ?? '').trim().split(/\s+/);
  const usec = (v: number | undefined) => (v === undefined ? undefined : v * 1000);
  const memLimit = limitOf(max);
  const swapLimit = limitOf(swapMax);
  return {
    cpu: {
      usageNs: usec(cpuStat?.usage_usec),
      userNs: usec(cpuStat?.user_usec),
      systemNs: usec(cpuStat?.system_usec),
      periods: cpuStat?.nr_periods,
      throttledPeriods: cpuStat?.nr_throttled,
      throttledNs: usec(cpuStat?.throttled_usec),
    },
    memory: {
      usage: current,
      maxUsage: peak,
      workingSet: current !== undefined ? Math.max(0, current - (stat?.inactive_file ?? 0)) : undefined,
      rss: stat?.anon,
      cache: stat?.file,
      mappedFile: stat?.file_mapped,
      swap: swapCurrent,
      failcnt: events?.max,
      oomKills: events?.oom_kill,
    },
    pids: { processes, threads, max: pidsMax ?? 0 },
    spec: {
      memoryLimit: memLimit,
      memoryReservation: low,
      // v2 limits swap alone; cAdvisor reports memory+swap like v1's memsw
      memorySwapLimit: memLimit && swapLimit ? memLimit + swapLimit : swapLimit === undefined ? undefined : 0,
      cpuShares: weight !== undefined ? weightToShares(weight) : undefined,
      cpuQuotaUs: quota === undefined || quota === '' ? undefined : /^[0-9]+$/.test(quota) ? Number(quota) : 0,
      cpuPeriodUs: period !== undefined && /^[0-9]+$/.test(period) ? Number(period) : undefined,
    },
  };
}
