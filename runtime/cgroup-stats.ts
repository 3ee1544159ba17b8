/**
 * Container resource usage from cgroup files (v1 and v2); the writable layer's disk usage is in disk-usage.ts.
 * Every file of one cgroup is read in one round of async reads (no sync calls, no access() probes:
 * a missing cgroup shows as unreadable files); container-stats.ts bounds how many cgroups are read
 * at once and keeps one sample per cgroup per collection period.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { readSmallFile } from '../common/read-small-file';
import { expandSlice, systemdCgroupPath } from '../common/systemd-cgroup';

export interface CgroupUsage {
  timestampNs: number;
  cpuUsageNs: number;
  memoryUsageBytes: number;
  /** usage minus inactive file pages: what the kubelet evicts on. */
  memoryWorkingSetBytes: number;
  memoryRssBytes: number;
  pageFaults: number;
  majorPageFaults: number;
  /** limit minus working set; undefined when unlimited. */
  memoryAvailableBytes?: number;
  processCount?: number;
  /** Swap in use (v1: memsw minus memory usage; v2: memory.swap.current); undefined without swap accounting. */
  swapUsageBytes?: number;
  /** Swap limit minus swap usage; undefined when swap is unlimited or unaccounted. */
  swapAvailableBytes?: number;
  /** Pressure stall information (v2 with PSI only). */
  psi?: { cpu?: PsiStats; memory?: PsiStats; io?: PsiStats };
}

/** A cgroup usage sample with the CPU rate since the previous sample (absent on the first). */
export type RatedUsage = CgroupUsage & { cpuUsageNanoCores?: number };

/** One PSI line: averages in percent, total stall time in ns (the files count µs). */
export interface PsiData {
  totalNs: number;
  avg10: number;
  avg60: number;
  avg300: number;
}

export interface PsiStats {
  some?: PsiData;
  full?: PsiData;
}

/** Parses a cgroup v2 *.pressure file ("some avg10=0.12 avg60=0.00 avg300=0.00 total=1234"); undefined when it has no PSI line. */
export function parsePressure(text: string): PsiStats | undefined {
  const out: PsiStats = {};
  for (const line of text.split('\n')) {
    const m = /^(some|full) avg10=([0-9.]+) avg60=([0-9.]+) avg300=([0-9.]+) total=([0-9]+)$/.exec(line.trim());
    if (m) out[m[1] as 'some' | 'full'] = { avg10: Number(m[2]), avg60: Number(m[3]), avg300: Number(m[4]), totalNs: Number(m[5]) * 1000 };
  }
  return out.some || out.full ? out : undefined;
}

const V1_ROOTS: Record<'cpuacct' | 'memory' | 'pids', string[]> = {
  cpuacct: ['/sys/fs/cgroup/cpuacct', '/sys/fs/cgroup/cpu,cpuacct', '/sys/fs/cgroup/cpuacct,cpu'],
  memory: ['/sys/fs/cgroup/memory'],
  pids: ['/sys/fs/cgroup/pids'],
};

/** Parses "key value" lines (memory.stat, cpu.stat). */
export function parseFlatKeyed(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^-?[0-9]+$/.test(v)) out[k] = Number(v);
  }
  return out;
}

/** Reads one cgroup file's text; undefined when missing or unreadable (tests pass a counting fake). */
export type CgroupFileReader = (file: string) => Promise<string | undefined>;

/** A file holding one unsigned number; undefined when missing, unreadable or not a number ("max"). */
async function readNumber(read: CgroupFileReader, file: string): Promise<number | undefined> {
  const t = (await read(file))?.trim();
  return t !== undefined && /^[0-9]+$/.test(t) ? Number(t) : undefined;
}

/** The v1 controller roots that exist, per mount point, found once: the mount layout does not change while berthd runs. */
const v1RootCache = new Map<string, Promise<string | undefined>>();

/** The first of `candidates` that exists (looked up once per process; a miss is looked up again next time). */
function existingRoot(candidates: string[]): Promise<string | undefined> {
  const key = candidates.join('\0');
  let hit = v1RootCache.get(key);
  if (!hit) {
    hit = (async () => {
      for (const c of candidates) if (await fs.access(c).then(() => true, () => false)) return c;
      return undefined;
    })();
    v1RootCache.set(key, hit);
    void hit.then((root) => {
      if (root === undefined) v1RootCache.delete(key);
    });
  }
  return hit;
}

/**
 * The directory path of an OCI cgroupsPath under a controller root: cgroupfs paths as they are,
 * systemd's `slice:prefix:name` expanded the way runc places it
 * (`a-b.slice:berth:id` → `/a.slice/a-b.slice/berth-id.scope`).
 */
export function cgroupFsPath(cgroupsPath: string): string {
  if (cgroupsPath.startsWith('/')) return cgroupsPath;
  try {
    // a bare slice (a pod's systemd cgroup parent) expands the same way
    return /^[^/:]+\.slice$/.test(cgroupsPath) ? expandSlice(cgroupsPath) : systemdCgroupPath(cgroupsPath);
  } catch {
    return cgroupsPath; // not systemd's form: read it as given
  }
}

/** Usage of the cgroup at `cgroupsPath` (cgroupfs form, e.g. /kubepods/pod1/berth-<id>, or systemd's slice:prefix:name). */
export async function readCgroupUsage(cgroupsPath: string, version: 1 | 2, nowNs: number, read: CgroupFileReader = readSmallFile): Promise<CgroupUsage | undefined> {
  const dir = cgroupFsPath(cgroupsPath);
  return version === 2 ? readV2(dir, nowNs, CGROUP_MOUNT, read) : readV1(dir, nowNs, CGROUP_MOUNT, read);
}

/** readCgroupUsage for a cgroup directory under another cgroupfs mount point (tests use a temp dir). */
export function readCgroupUsageAt(mount: string, dir: string, version: 1 | 2, nowNs: number, read: CgroupFileReader = readSmallFile): Promise<CgroupUsage | undefined> {
  return version === 2 ? readV2(dir, nowNs, mount, read) : readV1(dir, nowNs, mount, read);
}

const CGROUP_MOUNT = '/sys/fs/cgroup';

/** The v1 controller directories under `mount`. */
function v1Roots(controller: keyof typeof V1_ROOTS, mount: string): string[] {
  return mount === CGROUP_MOUNT ? V1_ROOTS[controller] : V1_ROOTS[controller].map((r) => path.join(mount, path.relative(CGROUP_MOUNT, r)));
}

/** v1: every file read at once (one round of async reads per cgroup); undefined when neither cpuacct nor memory has the cgroup. */
async function readV1(cg: string, nowNs: number, mount: string, read: CgroupFileReader): Promise<CgroupUsage | undefined> {
  const [cpuRoot, memRoot, pidsRoot] = await Promise.all([existingRoot(v1Roots('cpuacct', mount)), existingRoot(v1Roots('memory', mount)), existingRoot(v1Roots('pids', mount))]);
  const num = (root: string | undefined, file: string) => (root ? readNumber(read, path.join(root, cg, file)) : Promise.resolve(undefined));
  const [cpu, usage, limit, statText, pids, memsw, memswLimit] = await Promise.all([
    num(cpuRoot, 'cpuacct.usage'),
    num(memRoot, 'memory.usage_in_bytes'),
    num(memRoot, 'memory.limit_in_bytes'),
    memRoot ? read(path.join(memRoot, cg, 'memory.stat')) : Promise.resolve(undefined),
    num(pidsRoot, 'pids.current'),
    num(memRoot, 'memory.memsw.usage_in_bytes'),
    num(memRoot, 'memory.memsw.limit_in_bytes'),
  ]);
  if (cpu === undefined && usage === undefined) return undefined;
  const memoryUsage = usage ?? 0;
  const stat = parseFlatKeyed(statText ?? '');
  const inactive = stat.total_inactive_file ?? stat.inactive_file ?? 0;
  const workingSet = Math.max(0, memoryUsage - inactive);
  return {
    timestampNs: nowNs,
    cpuUsageNs: cpu ?? 0,
    memoryUsageBytes: memoryUsage,
    memoryWorkingSetBytes: workingSet,
    memoryRssBytes: stat.total_rss ?? stat.rss ?? 0,
    pageFaults: stat.total_pgfault ?? stat.pgfault ?? 0,
    majorPageFaults: stat.total_pgmajfault ?? stat.pgmajfault ?? 0,
    // v1 reports "unlimited" as a huge page-aligned number
    memoryAvailableBytes: limit !== undefined && limit < 2 ** 62 ? Math.max(0, limit - workingSet) : undefined,
    processCount: pids,
    ...v1Swap(memoryUsage, limit, memsw, memswLimit),
  };
}

/** v1 swap from memory.memsw.* (present only with swap accounting): memsw counts memory plus swap. */
function v1Swap(usage: number, limit: number | undefined, memsw: number | undefined, memswLimit: number | undefined): Pick<CgroupUsage, 'swapUsageBytes' | 'swapAvailableBytes'> {
  if (memsw === undefined) return {};
  const swapUsageBytes = Math.max(0, memsw - usage);
  const bounded = memswLimit !== undefined && memswLimit < 2 ** 62 && limit !== undefined && limit < 2 ** 62;
  return { swapUsageBytes, ...(bounded ? { swapAvailableBytes: Math.max(0, memswLimit - limit - swapUsageBytes) } : {}) };
}

/** v2: every file read at once; undefined when neither cpu.stat nor memory.current can be read (no such cgroup). */
async function readV2(cg: string, nowNs: number, mount: string, read: CgroupFileReader): Promise<CgroupUsage | undefined> {
  const dir = path.join(mount, cg);
  const file = (name: string) => read(path.join(dir, name));
  const num = (name: string) => readNumber(read, path.join(dir, name));
  const [cpuText, usage, max, statText, swapUsageBytes, swapMax, pids, cpuP, memP, ioP] = await Promise.all([
    file('cpu.stat'),
    num('memory.current'),
    num('memory.max'), // "max" → undefined
    file('memory.stat'),
    num('memory.swap.current'),
    num('memory.swap.max'), // "max" → undefined
    num('pids.current'),
    file('cpu.pressure'),
    file('memory.pressure'),
    file('io.pressure'),
  ]);
  if (cpuText === undefined && usage === undefined) return undefined;
  const cpu = parseFlatKeyed(cpuText ?? '');
  const stat = parseFlatKeyed(statText ?? '');
  const memoryUsage = usage ?? 0;
  const workingSet = Math.max(0, memoryUsage - (stat.inactive_file ?? 0));
  const [cpuPsi, memoryPsi, ioPsi] = [cpuP, memP, ioP].map((t) => parsePressure(t ?? ''));
  return {
    timestampNs: nowNs,
    cpuUsageNs: (cpu.usage_usec ?? 0) * 1000,
    memoryUsageBytes: memoryUsage,
    memoryWorkingSetBytes: workingSet,
    memoryRssBytes: stat.anon ?? 0,
    pageFaults: stat.pgfault ?? 0,
    majorPageFaults: stat.pgmajfault ?? 0,
    memoryAvailableBytes: max !== undefined ? Math.max(0, max - workingSet) : undefined,
    processCount: pids,
    ...(swapUsageBytes !== undefined ? { swapUsageBytes, ...(swapMax !== undefined ? { swapAvailableBytes: Math.max(0, swapMax - swapUsageBytes) } : {}) } : {}),
    ...(cpuPsi || memoryPsi || ioPsi ? { psi: { cpu: cpuPsi, memory: memoryPsi, io: ioPsi } } : {}),
  };
}
