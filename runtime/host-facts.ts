/**
 * Detects the host facts the spec builder needs (cgroup version, the oom_score_adj floor, swap
 * accounting, seccomp, recursive read-only mounts) and stats device nodes. All the I/O the pure
 * builder must not do lives here.
 */
import { promises as fs, type Stats } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InvalidArgumentError, NotFoundError, errnoCode } from '../common/errors';
import { parseProcStatus } from '../common/proc-stat';
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
  const seccompAvailable = parseProcStatus(status).has('Seccomp');
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
  const bounding = parseProcStatus(status).get('CapBnd');
  if (!bounding || !/^[0-9a-f]+$/.test(bounding)) return known;
  const mask = BigInt(`0x${bounding}`);
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

/** Largest number of device nodes one CRI Device directory may expand to (a hostile path could name /). */
const MAX_DEVICES_PER_DIR = 4096;
/** Most directory entries looked at while expanding one CRI Device directory (/sys has millions, no nodes). */
const MAX_DEVICE_DIR_ENTRIES = 16384;

/** Stats one device node (following symlinks); NotFound / InvalidArgument name the path. */
async function resolveDevice(d: ContainerDeviceInput, field = 'device'): Promise<ResolvedDevice> {
  const st = await statDevicePath(d.hostPath, field);
  if (!st.isCharacterDevice() && !st.isBlockDevice()) throw new InvalidArgumentError(`${field}: ${d.hostPath} is not a device node`);
  return deviceFromStat(st, d.containerPath || d.hostPath, d.permissions);
}

/**
 * A CRI Device as device nodes: a node is itself; a directory is every char/block node below it
 * (recursively, symlinks skipped), each at container_path + its path relative to host_path, as
 * cri-o does. Errors name `devices[index]`.
 */
export async function resolveDevices(d: ContainerDeviceInput, index: number, maxNodes = MAX_DEVICES_PER_DIR, maxEntries = MAX_DEVICE_DIR_ENTRIES): Promise<ResolvedDevice[]> {
  const field = `devices[${index}].host_path`;
  if (!path.isAbsolute(d.hostPath)) throw new InvalidArgumentError(`${field}: ${JSON.stringify(d.hostPath)} is not absolute`);
  const st = await statDevicePath(d.hostPath, field);
  if (!st.isDirectory()) return [await resolveDevice(d, field)];
  const containerRoot = d.containerPath || d.hostPath;
  const out: ResolvedDevice[] = [];
  const walked = await walkDeviceNodes(
    d.hostPath,
    async (p, node) => {
      if (out.length >= maxNodes) throw new InvalidArgumentError(`${field}: ${d.hostPath} holds more than ${maxNodes} device nodes`);
      out.push(deviceFromStat(node, path.posix.join(containerRoot, path.relative(d.hostPath, p)), d.permissions));
    },
    maxEntries,
  );
  if (!walked) throw new InvalidArgumentError(`${field}: ${d.hostPath} has more than ${maxEntries} entries to search for device nodes`);
  return out;
}

async function statDevicePath(hostPath: string, field: string): Promise<Stats> {
  try {
    return await fs.stat(hostPath);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') throw new NotFoundError(`${field}: ${hostPath} does not exist on the host`);
    throw err;
  }
}

function deviceFromStat(st: Stats, containerPath: string, permissions: string): ResolvedDevice {
  return {
    containerPath,
    type: st.isCharacterDevice() ? 'c' : 'b',
    major: Number((BigInt(st.rdev) >> 8n) & 0xfffn),
    minor: Number((BigInt(st.rdev) & 0xffn) | ((BigInt(st.rdev) >> 12n) & 0xfff00n)),
    fileMode: st.mode & 0o7777,
    uid: st.uid,
    gid: st.gid,
    permissions: permissions || 'rwm',
  };
}

/**
 * Calls `onNode` for every char/block device below `root` (lstat: symlinks are not followed), in
 * name order; runc's own mount points (pts, shm, mqueue, fd) are skipped like libcontainer does.
 * False when it stopped after `maxEntries` directory entries.
 */
async function walkDeviceNodes(root: string, onNode: (p: string, st: Stats) => Promise<void>, maxEntries = Infinity): Promise<boolean> {
  const skip = new Set(['pts', 'shm', 'fd', 'mqueue', '.lxc', '.lxd-mounts', '.udev']);
  let budget = maxEntries;
  async function walk(dir: string): Promise<void> {
    if (budget < 0) return;
    let entries;
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch {
      return; // vanished or unreadable
    }
    budget -= entries.length;
    if (budget < 0) return;
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (skip.has(e.name)) continue;
        await walk(p);
      } else if (e.isCharacterDevice() || e.isBlockDevice()) {
        const st = await fs.lstat(p).catch(() => undefined);
        if (st && (st.isCharacterDevice() || st.isBlockDevice())) await onNode(p, st);
      }
    }
  }
  await walk(root);
  return budget >= 0;
}

/**
 * The source of a CRI bind mount, as cri-o and containerd treat it: an absolute path without ".."
 * components; created as a directory (0755, root-owned, parents too) when missing; symlinks
 * resolved. Errors name `mounts[index].host_path`.
 */
export async function prepareMountSource(hostPath: string, index: number): Promise<string> {
  const field = `mounts[${index}].host_path`;
  if (!path.isAbsolute(hostPath)) throw new InvalidArgumentError(`${field}: ${JSON.stringify(hostPath)} is not absolute`);
  if (hostPath.split('/').includes('..')) throw new InvalidArgumentError(`${field}: ${JSON.stringify(hostPath)} has ".." components`);
  if (hostPath.includes('\0')) throw new InvalidArgumentError(`${field}: contains a NUL byte`);
  const clean = path.posix.normalize(hostPath);
  try {
    return await fs.realpath(clean);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw new InvalidArgumentError(`${field}: resolve ${clean}: ${errnoCode(err) ?? 'failed'}`, { cause: err });
  }
  await createDirs(clean, field);
  return fs.realpath(clean);
}

/** mkdir -p with every created level 0755 and owned by root, whatever the umask. */
async function createDirs(dir: string, field: string): Promise<void> {
  let first: string | undefined;
  try {
    first = await fs.mkdir(dir, { recursive: true, mode: 0o755 });
  } catch (err) {
    throw new InvalidArgumentError(`${field}: create missing directory ${dir}: ${errnoCode(err) ?? 'failed'}`, { cause: err });
  }
  if (first === undefined) return; // appeared meanwhile
  for (let level = dir; ; level = path.dirname(level)) {
    await fs.chmod(level, 0o755);
    await fs.chown(level, 0, 0);
    if (level === first || level === '/') break;
  }
}

/** Every device node under /dev (not /dev/pts, /dev/shm, /dev/mqueue), for privileged containers. */
export async function listHostDevices(root = '/dev'): Promise<ResolvedDevice[]> {
  const out: ResolvedDevice[] = [];
  await walkDeviceNodes(root, async (p, st) => {
    if (p === path.join(root, 'console') || p === path.join(root, 'ptmx')) return; // runc sets these up itself
    out.push(deviceFromStat(st, p, 'rwm'));
  });
  return out;
}
