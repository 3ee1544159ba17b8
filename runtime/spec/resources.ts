/** cgroup placement and limits: cpu, memory (+swap), cpuset, hugepages, unified (v2). Pure. */
import { InvalidArgumentError } from '../../common/errors';
import type { LinuxResourcesInput, RuntimeSpecDefaults } from './inputs';
import type { OciResources } from './oci-types';

/** The prefix of container cgroups (cri-o uses "crio-"). */
const CONTAINER_CGROUP_PREFIX = 'berth';

/**
 * The container's cgroupsPath under the pod's parent: cgroupfs `/<parent>/berth-<id>`, systemd
 * `<parent slice>:berth:<id>` (runc's slice:prefix:name form).
 */
export function containerCgroupsPath(parent: string, containerId: string, driver: 'cgroupfs' | 'systemd'): string {
  if (driver === 'systemd') {
    const slice = parent && parent.endsWith('.slice') ? parent.split('/').filter(Boolean).pop()! : 'system.slice';
    return `${slice}:${CONTAINER_CGROUP_PREFIX}:${containerId}`;
  }
  const base = parent ? `/${parent.split('/').filter(Boolean).join('/')}` : `/${CONTAINER_CGROUP_PREFIX}`;
  return `${base === '/' ? '' : base}/${CONTAINER_CGROUP_PREFIX}-${containerId}`;
}

const HUGEPAGE_SIZE = /^[0-9]+(KB|MB|GB|TB|PB)$/;

/** cgroup v1 cpu.shares bounds (the kernel's MIN_SHARES/MAX_SHARES). */
const MAX_CPU_SHARES = 262144;
/** CFS period bounds in µs (kernel: 1 ms – 1 s). */
const MAX_CPU_PERIOD_US = 1_000_000;

/** Refuses values no kernel accepts (negative, absurd), naming the field. Pure; cheap. */
export function checkResources(r: LinuxResourcesInput | undefined): void {
  if (!r) return;
  const bad = (field: string, why: string) => new InvalidArgumentError(`${field} ${why}`);
  if (r.memoryLimitInBytes !== undefined && r.memoryLimitInBytes < 0) throw bad('memory_limit_in_bytes', 'is negative');
  if (r.memorySwapLimitInBytes !== undefined && r.memorySwapLimitInBytes < -1) throw bad('memory_swap_limit_in_bytes', 'is negative');
  if (r.cpuShares !== undefined && (r.cpuShares < 0 || r.cpuShares > MAX_CPU_SHARES)) throw bad('cpu_shares', `is outside 0..${MAX_CPU_SHARES}`);
  if (r.cpuQuota !== undefined && r.cpuQuota < -1) throw bad('cpu_quota', 'is negative (only -1, unlimited, is allowed)');
  if (r.cpuPeriod !== undefined && (r.cpuPeriod < 0 || r.cpuPeriod > MAX_CPU_PERIOD_US)) throw bad('cpu_period', `is outside 0..${MAX_CPU_PERIOD_US} µs`);
  if (r.oomScoreAdj !== undefined && (r.oomScoreAdj < -1000 || r.oomScoreAdj > 1000)) throw bad('oom_score_adj', 'is outside -1000..1000');
}

/** OCI `linux.resources` (without devices) from the CRI LinuxContainerResources. */
export function ociResources(r: LinuxResourcesInput | undefined, defaults: Pick<RuntimeSpecDefaults, 'cgroupVersion' | 'swapAccounting'>): OciResources {
  const out: OciResources = {};
  if (!r) return out;
  checkResources(r);
  const cpu: NonNullable<OciResources['cpu']> = {};
  if (positive(r.cpuShares)) cpu.shares = r.cpuShares;
  if (r.cpuQuota !== undefined && r.cpuQuota !== 0) cpu.quota = r.cpuQuota;
  if (positive(r.cpuPeriod)) cpu.period = r.cpuPeriod;
  if (r.cpusetCpus) cpu.cpus = r.cpusetCpus;
  if (r.cpusetMems) cpu.mems = r.cpusetMems;
  if (Object.keys(cpu).length > 0) out.cpu = cpu;

  if (positive(r.memoryLimitInBytes)) {
    const memory: NonNullable<OciResources['memory']> = { limit: r.memoryLimitInBytes };
    if (defaults.swapAccounting) {
      // swap is memory+swap in OCI: equal to the limit means "no swap", kubelet's default.
      const swap = positive(r.memorySwapLimitInBytes) ? r.memorySwapLimitInBytes : r.memoryLimitInBytes;
      if (swap < r.memoryLimitInBytes) throw new InvalidArgumentError('memory_swap_limit_in_bytes is below memory_limit_in_bytes');
      memory.swap = swap;
    }
    out.memory = memory;
  }

  if (r.hugepageLimits && r.hugepageLimits.length > 0) {
    out.hugepageLimits = r.hugepageLimits.map((h) => {
      if (!HUGEPAGE_SIZE.test(h.pageSize)) throw new InvalidArgumentError(`hugepage page_size ${JSON.stringify(h.pageSize)} is not like "2MB"`);
      return { pageSize: h.pageSize, limit: h.limit };
    });
  }

  const unified = r.unified ?? {};
  if (Object.keys(unified).length > 0) {
    if (defaults.cgroupVersion !== 2) throw new InvalidArgumentError('unified cgroup resources need cgroup v2; this host runs cgroup v1');
    for (const key of Object.keys(unified)) {
      if (key.includes('/') || key.startsWith('.') || !key.includes('.')) throw new InvalidArgumentError(`unified key ${JSON.stringify(key)} is not a cgroup file name`);
    }
    out.unified = { ...unified };
  }
  return out;
}

function positive(n: number | undefined): n is number {
  return n !== undefined && n > 0;
}
