/**
 * Container resource usage from cgroup files (v1 and v2); the writable layer's disk usage is in disk-usage.ts.
 * Read on demand; kubelet polls stats every ~10 s, so no background sampling is needed.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
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

async function readNumber(file: string): Promise<number | undefined> {
  try {
    const t = (await fs.readFile(file, 'utf8')).trim();
    return /^[0-9]+$/.test(t) ? Number(t) : undefined;
  } catch {
    return undefined;
  }
}

async function firstExisting(candidates: string[], rel: string): Promise<string | undefined> {
  for (const c of candidates) {
    const p = path.join(c, rel);
    if (await fs.access(p).then(() => true, () => false)) return p;
  }
  return undefined;
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
export async function readCgroupUsage(cgroupsPath: string, version: 1 | 2, nowNs: number): Promise<CgroupUsage | undefined> {
  const dir = cgroupFsPath(cgroupsPath);
  return version === 2 ? readV2(dir, nowNs) : readV1(dir, nowNs);
}

/** readCgroupUsage for a cgroup directory under another cgroupfs mount point (tests use a temp dir). */
export function readCgroupUsageAt(mount: string, dir: string, version: 1 | 2, nowNs: number): Promise<CgroupUsage | undefined> {
  return version === 2 ? readV2(dir, nowNs, mount) : readV1(dir, nowNs, mount);
}

const CGROUP_MOUNT = '/sys/fs/cgroup';

/** The v1 controller directories under `mount`. */
function v1Roots(controller: keyof typeof V1_ROOTS, mount: string): string[] {
  return mount === CGROUP_MOUNT ? V1_ROOTS[controller] : V1_ROOTS[controller].map((r) => path.join(mount, path.relative(CGROUP_MOUNT, r)));
}

async function readV1(cg: string, nowNs: number, mount = CGROUP_MOUNT): Promise<CgroupUsage | undefined> {
  const cpuDir = await firstExisting(v1Roots('cpuacct', mount), cg);
  const memDir = await firstExisting(v1Roots('memory', mount), cg);
  if (!cpuDir && !memDir) return undefined;
  const cpuUsageNs = cpuDir ? ((await readNumber(path.join(cpuDir, 'cpuacct.usage'))) ?? 0) : 0;
  const usage = memDir ? ((await readNumber(path.join(memDir, 'memory.usage_in_bytes'))) ?? 0) : 0;
  const limit = memDir ? await readNumber(path.join(memDir, 'memory.limit_in_bytes')) : undefined;
  const stat = memDir ? parseFlatKeyed(await fs.readFile(path.join(memDir, 'memory.stat'), 'utf8').catch(() => '')) : {};
  const inactive = stat.total_inactive_file ?? stat.inactive_file ?? 0;
  const workingSet = Math.max(0, usage - inactive);
  const pidsDir = await firstExisting(v1Roots('pids', mount), cg);
  const swap = memDir ? await readV1Swap(memDir, usage, limit) : {};
  return {
    timestampNs: nowNs,
    cpuUsageNs,
    memoryUsageBytes: usage,
    memoryWorkingSetBytes: workingSet,
    memoryRssBytes: stat.total_rss ?? stat.rss ?? 0,
    pageFaults: stat.total_pgfault ?? stat.pgfault ?? 0,
    majorPageFaults: stat.total_pgmajfault ?? stat.pgmajfault ?? 0,
    // v1 reports "unlimited" as a huge page-aligned number
    memoryAvailableBytes: limit !== undefined && limit < 2 ** 62 ? Math.max(0, limit - workingSet) : undefined,
    processCount: pidsDir ? await readNumber(path.join(pidsDir, 'pids.current')) : undefined,
    ...swap,
  };
}

/** v1 swap from memory.memsw.* (present only with swap accounting): memsw counts memory plus swap. */
async function readV1Swap(memDir: string, usage: number, limit: number | undefined): Promise<Pick<CgroupUsage, 'swapUsageBytes' | 'swapAvailableBytes'>> {
  const memsw = await readNumber(path.join(memDir, 'memory.memsw.usage_in_bytes'));
  if (memsw === undefined) return {};
  const swapUsageBytes = Math.max(0, memsw - usage);
  const memswLimit = await readNumber(path.join(memDir, 'memory.memsw.limit_in_bytes'));
  const bounded = memswLimit !== undefined && memswLimit < 2 ** 62 && limit !== undefined && limit < 2 ** 62;
  return { swapUsageBytes, ...(bounded ? { swapAvailableBytes: Math.max(0, memswLimit - limit - swapUsageBytes) } : {}) };
}

async function readV2(cg: string, nowNs: number, mount = CGROUP_MOUNT): Promise<CgroupUsage | undefined> {
  const dir = path.join(mount, cg);
  if (!(await fs.access(dir).then(() => true, () => false))) return undefined;
  const cpu = parseFlatKeyed(await fs.readFile(path.join(dir, 'cpu.stat'), 'utf8').catch(() => ''));
  const usage = (await readNumber(path.join(dir, 'memory.current'))) ?? 0;
  const max = await readNumber(path.join(dir, 'memory.max')); // "max" → undefined
  const stat = parseFlatKeyed(await fs.readFile(path.join(dir, 'memory.stat'), 'utf8').catch(() => ''));
  const workingSet = Math.max(0, usage - (stat.inactive_file ?? 0));
  const swapUsageBytes = await readNumber(path.join(dir, 'memory.swap.current'));
  const swapMax = swapUsageBytes !== undefined ? await readNumber(path.join(dir, 'memory.swap.max')) : undefined; // "max" → undefined
  const pressure = async (file: string) => parsePressure(await fs.readFile(path.join(dir, file), 'utf8').catch(() => ''));
  const [cpuPsi, memoryPsi, ioPsi] = await Promise.all([pressure('cpu.pressure'), pressure('memory.pressure'), pressure('io.pressure')]);
  return {
    timestampNs: nowNs,
    cpuUsageNs: (cpu.usage_usec ?? 0) * 1000,
    memoryUsageBytes: usage,
    memoryWorkingSetBytes: workingSet,
    memoryRssBytes: stat.anon ?? 0,
    pageFaults: stat.pgfault ?? 0,
    majorPageFaults: stat.pgmajfault ?? 0,
    memoryAvailableBytes: max !== undefined ? Math.max(0, max - workingSet) : undefined,
    processCount: await readNumber(path.join(dir, 'pids.current')),
    ...(swapUsageBytes !== undefined ? { swapUsageBytes, ...(swapMax !== undefined ? { swapAvailableBytes: Math.max(0, swapMax - swapUsageBytes) } : {}) } : {}),
    ...(cpuPsi || memoryPsi || ioPsi ? { psi: { cpu: cpuPsi, memory: memoryPsi, io: ioPsi } } : {}),
  };
}
