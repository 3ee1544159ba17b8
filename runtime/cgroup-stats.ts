/**
 * Container resource usage from cgroup files (v1 and v2); the writable layer's disk usage is in disk-usage.ts.
 * Read on demand; kubelet polls stats every ~10 s, so no background sampling is needed.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

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
  // a bare slice (a pod's systemd cgroup parent) expands the same way
  if (/^[^/:]+\.slice$/.test(cgroupsPath)) return `/${sliceDirs(cgroupsPath).join('/')}`;
  const parts = cgroupsPath.split(':');
  if (parts.length !== 3) return cgroupsPath;
  const [slice, prefix, name] = parts;
  return `/${[...sliceDirs(slice), `${prefix ? `${prefix}-` : ''}${name}.scope`].join('/')}`;
}

/** systemd's slice nesting: `a-b-c.slice` lives at a.slice/a-b.slice/a-b-c.slice. */
function sliceDirs(slice: string): string[] {
  if (!slice || slice === '-.slice') return [];
  const words = slice.replace(/\.slice$/, '').split('-');
  return words.map((_, i) => `${words.slice(0, i + 1).join('-')}.slice`);
}

/** Usage of the cgroup at `cgroupsPath` (cgroupfs form, e.g. /kubepods/pod1/berth-<id>, or systemd's slice:prefix:name). */
export async function readCgroupUsage(cgroupsPath: string, version: 1 | 2, nowNs: number): Promise<CgroupUsage | undefined> {
  const dir = cgroupFsPath(cgroupsPath);
  return version === 2 ? readV2(dir, nowNs) : readV1(dir, nowNs);
}

async function readV1(cg: string, nowNs: number): Promise<CgroupUsage | undefined> {
  const cpuDir = await firstExisting(V1_ROOTS.cpuacct, cg);
  const memDir = await firstExisting(V1_ROOTS.memory, cg);
  if (!cpuDir && !memDir) return undefined;
  const cpuUsageNs = cpuDir ? ((await readNumber(path.join(cpuDir, 'cpuacct.usage'))) ?? 0) : 0;
  const usage = memDir ? ((await readNumber(path.join(memDir, 'memory.usage_in_bytes'))) ?? 0) : 0;
  const limit = memDir ? await readNumber(path.join(memDir, 'memory.limit_in_bytes')) : undefined;
  const stat = memDir ? parseFlatKeyed(await fs.readFile(path.join(memDir, 'memory.stat'), 'utf8').catch(() => '')) : {};
  const inactive = stat.total_inactive_file ?? stat.inactive_file ?? 0;
  const workingSet = Math.max(0, usage - inactive);
  const pidsDir = await firstExisting(V1_ROOTS.pids, cg);
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
  };
}

async function readV2(cg: string, nowNs: number): Promise<CgroupUsage | undefined> {
  const dir = path.join('/sys/fs/cgroup', cg);
  if (!(await fs.access(dir).then(() => true, () => false))) return undefined;
  const cpu = parseFlatKeyed(await fs.readFile(path.join(dir, 'cpu.stat'), 'utf8').catch(() => ''));
  const usage = (await readNumber(path.join(dir, 'memory.current'))) ?? 0;
  const max = await readNumber(path.join(dir, 'memory.max')); // "max" → undefined
  const stat = parseFlatKeyed(await fs.readFile(path.join(dir, 'memory.stat'), 'utf8').catch(() => ''));
  const workingSet = Math.max(0, usage - (stat.inactive_file ?? 0));
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
  };
}
