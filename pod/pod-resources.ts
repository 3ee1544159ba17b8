/**
 * Pod-level cgroup limits (UpdatePodSandboxResources). The pod-level cgroup is the pod's
 * cgroup_parent (kubelet's `/kubepods/<qos>/pod<uid>`): pause lives in `<parent>/berth-pod-<id12>`
 * and every container in its sibling `<parent>/berth-<container id>`, so the parent is the one
 * directory that encloses all of the pod's processes. pause's own leaf holds pause alone; a limit
 * there would bind nothing else.
 *
 * Every hierarchy gets the files of the controllers it carries: v1 cpu (shares, CFS quota/period),
 * cpuset, memory (+memsw with swap accounting); v2 the files of the controllers listed in the
 * directory's cgroup.controllers (a hybrid host's unified mount lists none, so it gets nothing).
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { FailedPreconditionError, InvalidArgumentError, RuntimeError } from '../common/errors';
import type { CgroupHierarchy } from './pod-cgroups';

/** The CRI LinuxContainerResources fields a pod cgroup takes; unset (or 0/"") means "leave as is". */
export interface PodCgroupResources {
  cpuPeriod?: number;
  cpuQuota?: number;
  cpuShares?: number;
  memoryLimitInBytes?: number;
  memorySwapLimitInBytes?: number;
  cpusetCpus?: string;
  cpusetMems?: string;
}

/** One write into a cgroup interface file; `field` is the request field it comes from. */
export interface CgroupWrite {
  file: string;
  value: string;
  field: string;
}

/**
 * A step: writes done in order; when the kernel answers EINVAL the order is retried reversed
 * (CFS period vs quota and v1 memory vs memsw must be written in whichever order keeps the pair
 * consistent at each moment, which depends on the current values).
 */
export type CgroupStep = CgroupWrite[];

/** cpuset list syntax ("0-3,5"): digits, commas and dashes only. */
const CPUSET_LIST = /^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$/;
/** Longest cpuset list accepted (a 4096-CPU machine spelled out one by one fits). */
const MAX_CPUSET_LENGTH = 20_000;
/** The kernel's CFS bounds in µs: quota ≥ 1 ms, 1 ms ≤ period ≤ 1 s. */
const MIN_CFS_US = 1000;
const MAX_CFS_PERIOD_US = 1_000_000;

/** Refuses fields no cgroup would take, naming the field. Pure. */
export function checkPodResources(r: PodCgroupResources): void {
  const bad = (field: string, why: string) => new InvalidArgumentError(`resources.${field}: ${why}`);
  const int = (field: string, v: number | undefined, min: number) => {
    if (v === undefined) return;
    if (!Number.isSafeInteger(v)) throw bad(field, `${v} is not an integer`);
    if (v < min) throw bad(field, `${v} is below ${min}`);
  };
  int('cpu_period', r.cpuPeriod, 0);
  int('cpu_quota', r.cpuQuota, -1);
  int('cpu_shares', r.cpuShares, 0);
  int('memory_limit_in_bytes', r.memoryLimitInBytes, 0);
  int('memory_swap_limit_in_bytes', r.memorySwapLimitInBytes, -1);
  // Range-checked here so that the kernel's EINVAL on a CFS file can only mean a hierarchy conflict.
  if (r.cpuQuota && r.cpuQuota > 0 && r.cpuQuota < MIN_CFS_US) throw bad('cpu_quota', `${r.cpuQuota} µs is below the kernel's minimum of ${MIN_CFS_US} µs (-1: unlimited)`);
  if (r.cpuPeriod && (r.cpuPeriod < MIN_CFS_US || r.cpuPeriod > MAX_CFS_PERIOD_US)) throw bad('cpu_period', `${r.cpuPeriod} µs is outside ${MIN_CFS_US}..${MAX_CFS_PERIOD_US} µs`);
  for (const [field, v] of [['cpuset_cpus', r.cpusetCpus], ['cpuset_mems', r.cpusetMems]] as const) {
    if (!v) continue;
    if (v.length > MAX_CPUSET_LENGTH) throw bad(field, `is ${v.length} characters, more than ${MAX_CPUSET_LENGTH}`);
    if (!CPUSET_LIST.test(v)) throw bad(field, `${JSON.stringify(v.slice(0, 64))} is not a cpuset list like "0-3,5"`);
  }
  const { memoryLimitInBytes: mem, memorySwapLimitInBytes: swap } = r;
  if (mem && swap && swap > 0 && swap < mem) throw bad('memory_swap_limit_in_bytes', `${swap} is below memory_limit_in_bytes ${mem}`);
}

/** cgroup v2 cpu.weight from v1 shares (the conversion runc and kubelet use). */
export function cpuWeightFromShares(shares: number): number {
  if (shares <= 2) return 1;
  if (shares >= 262144) return 10000;
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

/** The steps for a v1 hierarchy with `controllers`; `hasMemsw` when memory.memsw.* exists. Pure. */
export function v1Steps(controllers: readonly string[], r: PodCgroupResources, hasMemsw: boolean): CgroupStep[] {
  const steps: CgroupStep[] = [];
  if (controllers.includes('cpu')) {
    if (r.cpuShares) steps.push([{ file: 'cpu.shares', value: String(r.cpuShares), field: 'cpu_shares' }]);
    const cfs: CgroupStep = [];
    if (r.cpuPeriod) cfs.push({ file: 'cpu.cfs_period_us', value: String(r.cpuPeriod), field: 'cpu_period' });
    if (r.cpuQuota) cfs.push({ file: 'cpu.cfs_quota_us', value: String(r.cpuQuota), field: 'cpu_quota' });
    if (cfs.length > 0) steps.push(cfs);
  }
  if (controllers.includes('cpuset')) {
    if (r.cpusetCpus) steps.push([{ file: 'cpuset.cpus', value: r.cpusetCpus, field: 'cpuset_cpus' }]);
    if (r.cpusetMems) steps.push([{ file: 'cpuset.mems', value: r.cpusetMems, field: 'cpuset_mems' }]);
  }
  if (controllers.includes('memory') && r.memoryLimitInBytes) {
    const mem: CgroupStep = [{ file: 'memory.limit_in_bytes', value: String(r.memoryLimitInBytes), field: 'memory_limit_in_bytes' }];
    if (hasMemsw) {
      // memsw is memory+swap; unset swap means "no swap" (kubelet's default), as for containers.
      const swap = r.memorySwapLimitInBytes && r.memorySwapLimitInBytes !== 0 ? r.memorySwapLimitInBytes : r.memoryLimitInBytes;
      mem.push({ file: 'memory.memsw.limit_in_bytes', value: String(swap), field: 'memory_swap_limit_in_bytes' });
    }
    steps.push(mem);
  }
  return steps;
}

/**
 * The steps for a v2 directory whose cgroup.controllers lists `controllers`. `currentCpuMax` is
 * the directory's cpu.max, needed when only the period changes (cpu.max holds both). Pure.
 */
export function v2Steps(controllers: readonly string[], r: PodCgroupResources, currentCpuMax = 'max 100000'): CgroupStep[] {
  const steps: CgroupStep[] = [];
  if (controllers.includes('cpu')) {
    if (r.cpuShares) steps.push([{ file: 'cpu.weight', value: String(cpuWeightFromShares(r.cpuShares)), field: 'cpu_shares' }]);
    if (r.cpuQuota || r.cpuPeriod) {
      const quota = r.cpuQuota ? (r.cpuQuota < 0 ? 'max' : String(r.cpuQuota)) : currentCpuMax.trim().split(/\s+/)[0];
      const value = r.cpuPeriod ? `${quota} ${r.cpuPeriod}` : quota;
      steps.push([{ file: 'cpu.max', value, field: r.cpuQuota ? 'cpu_quota' : 'cpu_period' }]);
    }
  }
  if (controllers.includes('cpuset')) {
    if (r.cpusetCpus) steps.push([{ file: 'cpuset.cpus', value: r.cpusetCpus, field: 'cpuset_cpus' }]);
    if (r.cpusetMems) steps.push([{ file: 'cpuset.mems', value: r.cpusetMems, field: 'cpuset_mems' }]);
  }
  if (controllers.includes('memory') && r.memoryLimitInBytes) {
    steps.push([{ file: 'memory.max', value: String(r.memoryLimitInBytes), field: 'memory_limit_in_bytes' }]);
    if (r.memorySwapLimitInBytes) {
      // v2 swap.max is swap alone; CRI's value is memory+swap (-1: unlimited).
      const swap = r.memorySwapLimitInBytes < 0 ? 'max' : String(r.memorySwapLimitInBytes - r.memoryLimitInBytes);
      steps.push([{ file: 'memory.swap.max', value: swap, field: 'memory_swap_limit_in_bytes' }]);
    }
  }
  return steps;
}

/**
 * Writes `r` into the cgroup `relative` (a pod's cgroup_parent) of every hierarchy. A directory
 * that is missing is FailedPrecondition; EBUSY (memory below usage, a cpuset a container still
 * uses) and EINVAL on a CFS file (a container's quota above the pod's) FailedPrecondition; other
 * EINVAL InvalidArgument; each names the field and the value.
 * Not transactional: hierarchies written before a failure keep their new values (kubelet retries
 * the whole resize).
 */
export async function applyPodResources(hierarchies: readonly CgroupHierarchy[], relative: string, r: PodCgroupResources): Promise<void> {
  checkPodResources(r);
  for (const h of hierarchies) {
    const dir = path.join(h.mountPoint, relative);
    let steps: CgroupStep[];
    if (h.version === 1) {
      if (!['cpu', 'cpuset', 'memory'].some((c) => h.controllers.includes(c))) continue;
      await requireDir(dir);
      const hasMemsw = h.controllers.includes('memory') && (await exists(path.join(dir, 'memory.memsw.limit_in_bytes')));
      steps = v1Steps(h.controllers, r, hasMemsw);
    } else {
      await requireDir(dir);
      // No cgroup.controllers file: not a v2 cgroup berth can limit (nothing is written there).
      const listed = await fs.readFile(path.join(dir, 'cgroup.controllers'), 'utf8').catch(() => '');
      const controllers = listed.trim().split(/\s+/).filter(Boolean);
      const cpuMax = controllers.includes('cpu') ? await fs.readFile(path.join(dir, 'cpu.max'), 'utf8') : undefined;
      steps = v2Steps(controllers, r, cpuMax);
    }
    for (const step of steps) await writeStep(dir, step);
  }
}

async function writeStep(dir: string, step: CgroupStep): Promise<void> {
  try {
    for (const w of step) await writeOne(dir, w);
  } catch (err) {
    if (step.length < 2 || errnoOf(err) !== 'EINVAL') throw mapWriteError(dir, err);
    try {
      for (const w of [...step].reverse()) await writeOne(dir, w);
    } catch (second) {
      throw mapWriteError(dir, second);
    }
  }
}

/** A write failure still carrying which write it was. */
class WriteFailure extends Error {
  constructor(
    readonly write: CgroupWrite,
    cause: unknown,
  ) {
    super(`write ${write.file}`, { cause });
  }
}

async function writeOne(dir: string, w: CgroupWrite): Promise<void> {
  try {
    await fs.writeFile(path.join(dir, w.file), w.value);
  } catch (err) {
    throw new WriteFailure(w, err);
  }
}

function errnoOf(err: unknown): string | undefined {
  const cause = err instanceof WriteFailure ? err.cause : err;
  return (cause as NodeJS.ErrnoException | undefined)?.code;
}

function mapWriteError(dir: string, err: unknown): Error {
  if (!(err instanceof WriteFailure)) return new RuntimeError(`update pod cgroup ${dir}`, { cause: err });
  return cgroupWriteError(dir, err.write, err.cause);
}

/** The typed error for a failed write of `w` in `dir` (by errno), naming the request field. */
export function cgroupWriteError(dir: string, w: CgroupWrite, cause: unknown): Error {
  const err = cause;
  const { file, value, field } = w;
  const where = `${path.join(dir, file)} = ${value}`;
  switch ((cause as NodeJS.ErrnoException | undefined)?.code) {
    case 'EBUSY':
      return new FailedPreconditionError(
        field.startsWith('memory')
          ? `resources.${field}: ${value} is below the pod's current memory usage and the kernel could not reclaim enough (EBUSY writing ${where})`
          : `resources.${field}: ${value} is refused while a container of the pod uses more (EBUSY writing ${where})`,
        { cause: err },
      );
    case 'EINVAL':
      if (file.startsWith('cpu.cfs_') || file === 'cpu.max') {
        return new FailedPreconditionError(
          `resources.${field}: ${value} conflicts with the CPU quota of a container of the pod or of the parent cgroup (EINVAL writing ${where}); lower the containers first`,
          { cause: err },
        );
      }
      return new InvalidArgumentError(`resources.${field}: the kernel refused ${value} (EINVAL writing ${where}: out of range, or beyond a container's or the parent's limit)`, { cause: err });
    case 'ENOENT':
      return new FailedPreconditionError(`resources.${field}: the pod cgroup has no ${file} (ENOENT writing ${where})`, { cause: err });
    default:
      return new RuntimeError(`update pod cgroup: write ${where}`, { cause: err });
  }
}

async function requireDir(dir: string): Promise<void> {
  try {
    await fs.access(dir);
  } catch (err) {
    throw new FailedPreconditionError(`the pod cgroup ${dir} does not exist`, { cause: err });
  }
}

async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(
    () => true,
    () => false,
  );
}
