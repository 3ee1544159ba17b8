/**
 * Detects the host facts the spec builder needs (cgroup version, the oom_score_adj floor, swap
 * accounting, seccomp, recursive read-only mounts) and stats device nodes. All the I/O the pure
 * builder must not do lives here.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InvalidArgumentError, NotFoundError, errnoCode } from '../common/errors';
import { handlerFeatures } from './handler-features';
import { ALL_LINUX_CAPABILITIES, DEFAULT_CAPABILITIES } from './spec/capabilities';
import type { ContainerDeviceInput, ResolvedDevice, RuntimeSpecDefaults } from './spec/inputs';

const CGROUP2_SUPER_MAGIC_ROOT = '/sys/fs/cgroup/cgroup.controllers';

/** Detects host facts once at daemon start. */
export async function detectHostFacts(opts: { cgroupDriver: 'cgroupfs' | 'systemd'; runcVersion?: string }): Promise<RuntimeSpecDefaults> {
  const cgroupVersion: 1 | 2 = (await exists(CGROUP2_SUPER_MAGIC_ROOT)) ? 2 : 1;
  const floor = Number((await fs.readFile('/proc/self/oom_score_adj', 'utf8').catch(() => '0')).trim()) || 0;
  const swapAccounting =
    cgroupVersion === 2 ? await exists('/sys/fs/cgroup/memory.swap.max').then((e) => e || exists('/sys/fs/cgroup/system.slice/memory.swap.max')) : await exists('/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes');
  const status = await fs.readFile('/proc/self/status', 'utf8').catch(() => '');
  const seccompAvailable = /^Seccomp:/m.test(status);
  // Raising the hard limit above berthd's own needs CAP_SYS_RESOURCE in the init user namespace
  // and fails on some hosts: never ask for more than berthd has.
  const limits = await fs.readFile('/proc/self/limits', 'utf8').catch(() => '');
  const nofile = Math.min(1048576, parseHardLimit(limits, 'Max open files') ?? 1048576);
  const lastCap = Number((await fs.readFile('/proc/sys/kernel/cap_last_cap', 'utf8').catch(() => '40')).trim());
  return {
    cgroupVersion,
    cgroupDriver: opts.cgroupDriver,
    oomScoreAdjFloor: floor,
    seccompAvailable,
    recursiveReadOnlySupported: handlerFeatures(opts.runcVersion, os.release()).recursiveReadOnlyMounts,
    swapAccounting,
    allCapabilities: boundingCapabilities(status, lastCap),
    defaultCapabilities: [...DEFAULT_CAPABILITIES],
    rlimits: [{ type: 'RLIMIT_NOFILE', hard: nofile, soft: nofile }],
    defaultPath: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  };
}

/**
 * The capabilities berthd itself may grant: its bounding set (CapBnd of /proc/self/status) within
 * what the kernel knows. runc fails with EPERM when asked for a capability outside that set.
 */
export function boundingCapabilities(status: string, lastCap: number): string[] {
  const known = ALL_LINUX_CAPABILITIES.slice(0, Math.min(ALL_LINUX_CAPABILITIES.length, lastCap + 1));
  const m = /^CapBnd:\s*([0-9a-f]+)/m.exec(status);
  if (!m) return known;
  const mask = BigInt(`0x${m[1]}`);
  return known.filter((_, bit) => (mask >> BigInt(bit)) & 1n);
}

/** The hard value of a /proc/<pid>/limits row; undefined when unlimited or absent. */
export function parseHardLimit(limits: string, row: string): number | undefined {
  const line = limits.split('\n').find((l) => l.startsWith(row));
  if (!line) return undefined;
  const fields = line.slice(row.length).trim().split(/\s+/);
  const hard = Number(fields[1]);
  return Number.isFinite(hard) && hard > 0 ? hard : undefined;
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}

/** Stats one device node for config.devices; NotFound / InvalidArgument name the path. */
export async function resolveDevice(d: ContainerDeviceInput): Promise<ResolvedDevice> {
  let st;
  try {
    st = await fs.stat(d.hostPath);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') throw new NotFoundError(`device ${d.hostPath} does not exist on the host`);
    throw err;
  }
  if (!st.isCharacterDevice() && !st.isBlockDevice()) throw new InvalidArgumentError(`device ${d.hostPath} is not a device node`);
  return {
    containerPath: d.containerPath || d.hostPath,
    type: st.isCharacterDevice() ? 'c' : 'b',
    major: Number((BigInt(st.rdev) >> 8n) & 0xfffn),
    minor: Number((BigInt(st.rdev) & 0xffn) | ((BigInt(st.rdev) >> 12n) & 0xfff00n)),
    fileMode: st.mode & 0o7777,
    uid: st.uid,
    gid: st.gid,
    permissions: d.permissions || 'rwm',
  };
}

/** Every device node under /dev (not /dev/pts, /dev/shm, /dev/mqueue), for privileged containers. */
export async function listHostDevices(root = '/dev'): Promise<ResolvedDevice[]> {
  const out: ResolvedDevice[] = [];
  const skip = new Set(['pts', 'shm', 'mqueue', 'fd']);
  async function walk(dir: string): Promise<void> {
    let entries;
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (dir === root && skip.has(e.name)) continue;
        await walk(p);
      } else if (e.isCharacterDevice() || e.isBlockDevice()) {
        if (p === '/dev/console' || p === '/dev/ptmx') continue; // runc sets these up itself
        try {
          out.push(await resolveDevice({ hostPath: p, containerPath: p, permissions: 'rwm' }));
        } catch {
          // vanished or unreadable: skip
        }
      }
    }
  }
  await walk(root);
  return out;
}
