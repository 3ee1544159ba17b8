/**
 * Removing what a runtime under test left on the host: mounts below its dirs, its bridge, its
 * processes (found by an exact argument, never by a broad name), its cgroups. Used after a run and
 * on failure or Ctrl-C; every function tolerates "already gone".
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** One line of /proc/self/mountinfo, the fields we use. */
export interface MountEntry {
  mountPoint: string;
  fsType: string;
}

/** Decodes the octal escapes (\040 for space, …) of mountinfo paths. */
function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Parses mountinfo text. */
export function parseMountInfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const [left, right] = line.split(' - ');
    const fields = left.split(' ');
    if (fields.length < 5 || !right) continue;
    out.push({ mountPoint: unescapeMountPath(fields[4]), fsType: right.split(' ')[0] });
  }
  return out;
}

/** Mount points strictly below `dir`, deepest first (the order they must be unmounted in). */
export function mountsBelow(entries: readonly MountEntry[], dir: string): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  const found = entries.map((e) => e.mountPoint).filter((m) => m.startsWith(prefix));
  return [...new Set(found)].sort((a, b) => b.length - a.length);
}

/** Lazily unmounts every mount below `dir` (overlay rootfs, shm, netns pins); returns how many. */
export async function unmountBelow(dir: string): Promise<number> {
  let count = 0;
  // Unmounting a parent can reveal or drop children: repeat until nothing is left.
  for (let round = 0; round < 5; round++) {
    const mounts = mountsBelow(parseMountInfo(fs.readFileSync('/proc/self/mountinfo', 'utf8')), dir);
    if (mounts.length === 0) break;
    for (const m of mounts) {
      await run('umount', ['-l', m]).then(
        () => count++,
        () => undefined,
      );
    }
  }
  return count;
}

/** Deletes a network link (the runtime's bridge); absent is fine. */
export async function deleteLink(name: string): Promise<void> {
  await run('ip', ['link', 'del', name]).catch(() => undefined);
}

/** Pids whose command line contains `arg` as one whole argument. */
export function pidsWithArgument(arg: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const argv = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (argv.includes(arg)) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

/** Pids inside the cgroup `parent` (any depth) in any mounted hierarchy. */
export function pidsInCgroupTree(parent: string): number[] {
  const pids = new Set<number>();
  const walk = (dir: string): void => {
    let children: fs.Dirent[];
    try {
      children = fs.readdirSync(dir, { withFileTypes: true });
      for (const line of fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n')) if (line) pids.add(Number(line));
    } catch {
      return;
    }
    for (const c of children) if (c.isDirectory()) walk(path.join(dir, c.name));
  };
  for (const root of cgroupRoots()) walk(path.join(root, parent));
  return [...pids];
}

function cgroupRoots(): string[] {
  const roots = parseMountInfo(fs.readFileSync('/proc/self/mountinfo', 'utf8'))
    .filter((e) => e.fsType === 'cgroup' || e.fsType === 'cgroup2')
    .map((e) => e.mountPoint);
  return [...new Set(roots)];
}

/** SIGKILLs `pids` (each by id) and waits up to `timeoutMs` for them to go. */
export async function killPids(pids: readonly number[], timeoutMs = 5000): Promise<void> {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && pids.some((pid) => fs.existsSync(`/proc/${pid}`))) await new Promise((r) => setTimeout(r, 50));
}

/**
 * Creates the cgroup `parent` (one level below each hierarchy's root) in every mounted hierarchy,
 * as kubelet creates its pods' parent cgroups before RunPodSandbox; a v1 cpuset level gets its
 * root's cpus and mems (an empty cpuset cannot hold a process).
 */
export function createCgroupParent(parent: string): void {
  for (const root of cgroupRoots()) {
    const dir = path.join(root, parent);
    try {
      fs.mkdirSync(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw new Error(`create cgroup ${dir}: ${(err as Error).message}`, { cause: err });
    }
    for (const file of ['cpuset.cpus', 'cpuset.mems']) {
      const own = path.join(dir, file);
      if (fs.existsSync(own) && fs.readFileSync(own, 'utf8').trim() === '') fs.writeFileSync(own, fs.readFileSync(path.join(root, file), 'utf8').trim());
    }
  }
}

/** Removes the cgroup `parent` (and its empty children) from every mounted hierarchy. */
export function removeCgroupTree(parent: string): void {
  for (const root of cgroupRoots()) removeDirTreeBottomUp(path.join(root, parent));
}

function removeDirTreeBottomUp(dir: string): void {
  let children: fs.Dirent[];
  try {
    children = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const c of children) if (c.isDirectory()) removeDirTreeBottomUp(path.join(dir, c.name));
  try {
    fs.rmdirSync(dir);
  } catch {
    // busy (a process still inside) or already gone: nothing more to do here
  }
}
