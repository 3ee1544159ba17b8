/**
 * The pod's own cgroup (cgroupfs driver), holding pause: `<parent>/berth-pod-<id12>` in every
 * cgroup hierarchy the host mounts. Hierarchies come from /proc/self/mountinfo, so pure v1, pure
 * v2 and the hybrid layout (v1 controllers + a v2 mount at /sys/fs/cgroup/unified, as on this
 * project's hosts) are all handled the same way: one directory per mounted hierarchy. The
 * cgroup holds pause alone and allows it no device.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { RuntimeError } from '../common/errors';

/** One mounted cgroup hierarchy. */
export interface CgroupHierarchy {
  mountPoint: string;
  version: 1 | 2;
  /** v1 controllers bound to it (e.g. ['cpu','cpuacct'] or ['name=systemd']); [] for v2. */
  controllers: string[];
}

/** Parses cgroup and cgroup2 mounts out of mountinfo text, one per distinct hierarchy. */
export function parseCgroupMounts(mountinfo: string): CgroupHierarchy[] {
  const seen = new Set<string>();
  const out: CgroupHierarchy[] = [];
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const [fstype, , superOptions = ''] = line.slice(sep + 3).split(' ');
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    const device = left[2];
    if (seen.has(device)) continue; // a hierarchy mounted twice
    seen.add(device);
    const mountPoint = unescapeMountPath(left[4]);
    if (fstype === 'cgroup2') {
      out.push({ mountPoint, version: 2, controllers: [] });
    } else {
      const controllers = superOptions.split(',').filter((o) => o !== 'rw' && o !== 'ro' && !o.startsWith('release_agent') && o !== 'clone_children' && o !== 'noprefix' && o !== 'xattr');
      out.push({ mountPoint, version: 1, controllers });
    }
  }
  return out;
}

/** Reads the cgroup hierarchies of this host. */
export async function detectCgroupHierarchies(mountinfoPath = '/proc/self/mountinfo'): Promise<CgroupHierarchy[]> {
  return parseCgroupMounts(await fs.readFile(mountinfoPath, 'utf8'));
}

/** The directories of a pod cgroup and the cgroup.procs files pause is written into. */
export interface PodCgroup {
  dirs: string[];
  procs: string[];
  /** Its cgroup v2 directories: they get a deny-all device filter before pause joins. */
  v2Dirs: string[];
}

/** The leaf name of a pod's cgroup. */
export function podCgroupName(podId: string): string {
  return `berth-pod-${podId.slice(0, 12)}`;
}

/** Creates and removes pod cgroups in every hierarchy. */
export class PodCgroups {
  constructor(private readonly hierarchies: readonly CgroupHierarchy[]) {}

  /** Where each hierarchy is mounted. */
  mountPoints(): string[] {
    return this.hierarchies.map((h) => h.mountPoint);
  }

  /** Creates `<parent>/<leaf>` in every hierarchy (parents as needed). */
  async create(parent: string, leaf: string): Promise<PodCgroup> {
    const relative = path.posix.join(parent, leaf);
    const created: string[] = [];
    // allSettled: every hierarchy must be finished before a failure is cleaned up.
    const results = await Promise.allSettled(
      this.hierarchies.map(async (h) => {
        const dir = path.join(h.mountPoint, relative);
        await mkdirLevels(h, relative, (d) => created.push(d));
        if (!created.includes(dir)) created.push(dir); // existed already: still ours to remove
      }),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await this.remove(created).catch(() => undefined);
      throw new RuntimeError(`create pod cgroup ${relative}`, { cause: failed.reason });
    }
    try {
      await this.denyDevices(relative);
    } catch (err) {
      await this.remove(created).catch(() => undefined);
      throw new RuntimeError(`deny devices in pod cgroup ${relative}`, { cause: err });
    }
    const dirs = this.hierarchies.map((h) => path.join(h.mountPoint, relative));
    const v2Dirs = this.hierarchies.filter((h) => h.version === 2).map((h) => path.join(h.mountPoint, relative));
    return { dirs, procs: dirs.map((d) => path.join(d, 'cgroup.procs')), v2Dirs };
  }

  /**
   * Pause needs no device once it is in its cgroup (stdio is opened before it joins), so the pod
   * cgroup allows none: v1 `a` in devices.deny here; on v2 the native launcher attaches a
   * deny-all device filter (`v2Dirs`, PauseSpec.denyDevicesCgroups). Only pause lives there: containers' cgroups are
   * its siblings under the same parent (runtime's containerCgroupsPath), so a v1 child that could
   * never be granted more than its parent does not exist. Writing `a` fails (EINVAL) on a cgroup
   * that has children, which would be a layout berth never builds: the pod start fails then.
   */
  private async denyDevices(relative: string): Promise<void> {
    for (const h of this.hierarchies) {
      if (h.version === 1 && h.controllers.includes('devices')) {
        await fs.writeFile(path.join(h.mountPoint, relative, 'devices.deny'), 'a');
      }
    }
  }

  /** Removes the pod's cgroup dirs (leaf only; parents belong to kubelet). Retries while busy. */
  async remove(dirs: readonly string[]): Promise<void> {
    // Deepest first, one depth at a time: a parent's rmdir must not race its child's (ENOTEMPTY).
    const depth = (d: string): number => d.split('/').length;
    const depths = [...new Set(dirs.map(depth))].sort((a, b) => b - a);
    const failures: unknown[] = [];
    for (const level of depths) {
      await Promise.all(
        dirs
          .filter((d) => depth(d) === level)
          .map(async (dir) => {
            try {
              await rmdirWhenEmpty(dir);
            } catch (err) {
              failures.push(err);
            }
          }),
      );
    }
    if (failures.length > 0) throw new RuntimeError(`remove pod cgroup ${dirs[0] ?? ''}`, { cause: failures[0] });
  }
}

/**
 * mkdir -p under the hierarchy; new v1 cpuset levels inherit cpus/mems (else attaching fails with
 * ENOSPC). The leaf is tried first: its parents (kubelet's QoS/pod cgroups, or berth's default
 * parent after the first pod) nearly always exist, so one mkdir per hierarchy is the common case
 * instead of one per path level (13 hierarchies × 4 levels for a kubelet parent on hybrid hosts).
 */
async function mkdirLevels(h: CgroupHierarchy, relative: string, onCreated: (dir: string) => void): Promise<void> {
  const leaf = path.join(h.mountPoint, relative);
  try {
    await fs.mkdir(leaf);
    onCreated(leaf);
    if (h.version === 1 && h.controllers.includes('cpuset')) {
      for (const file of ['cpuset.cpus', 'cpuset.mems']) await inheritIfEmpty(path.dirname(leaf), leaf, file);
    }
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    if (code !== 'ENOENT') throw err;
  }
  let current = h.mountPoint;
  for (const segment of relative.split('/').filter(Boolean)) {
    const parentDir = current;
    current = path.join(current, segment);
    try {
      await fs.mkdir(current);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw err;
    }
    onCreated(current);
    if (h.version === 1 && h.controllers.includes('cpuset')) {
      for (const file of ['cpuset.cpus', 'cpuset.mems']) await inheritIfEmpty(parentDir, current, file);
    }
  }
}

/**
 * Seeds `dir`'s cpuset file from its parent when empty. A parent that is itself still empty was
 * made a moment ago by a concurrent pod start that has not seeded it yet (it found the level
 * missing, this one found it existing): seed the parent first, up the tree, else the join fails
 * with ENOSPC.
 */
async function inheritIfEmpty(parentDir: string, dir: string, file: string, depth = 0): Promise<void> {
  const own = await fs.readFile(path.join(dir, file), 'utf8').catch(() => undefined);
  if (own === undefined || own.trim() !== '') return;
  let inherited = (await fs.readFile(path.join(parentDir, file), 'utf8')).trim();
  if (inherited === '' && depth < 16) {
    await inheritIfEmpty(path.dirname(parentDir), parentDir, file, depth + 1);
    inherited = (await fs.readFile(path.join(parentDir, file), 'utf8')).trim();
  }
  await fs.writeFile(path.join(dir, file), inherited);
}

/** rmdir; a cgroup whose last process just died may report EBUSY for a moment. */
async function rmdirWhenEmpty(dir: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await fs.rmdir(dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || attempt >= 50) throw err;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

/** mountinfo escapes space, tab, newline and backslash as octal. */
function unescapeMountPath(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}
