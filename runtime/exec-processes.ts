/**
 * Finding and killing the processes one `runc exec` started inside a container.
 *
 * runc's setns init calls setsid(), so the exec'd process leads a new session whose id is its pid
 * (a pid the kernel does not reuse while any process still has it as its session). The processes
 * of an exec are then, among the container's processes (its cgroup.procs — the exec joins the
 * container's cgroup and cannot leave it):
 * - its session: its children, pipelines and background jobs, also once orphaned and re-parented
 *   to the container's init;
 * - its descendants by parent pid: a child that called setsid() but whose parent still lives;
 * - the holders of its output: a process with a write end of the pipes runc reads the exec's
 *   stdout/stderr from open. These keep runc (and so the reply) waiting for EOF.
 * A process that double-forks, calls setsid() and closes its output is indistinguishable from
 * the container's own processes; it stays, within the container's limits, until the container
 * stops (a per-exec cgroup would be needed to catch it).
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { isRunning, readProcStat, type ProcStat } from '../common/proc-stat';

export { readProcStat, type ProcStat };

/** Where a container's processes are listed; undefined scans all of /proc. */
export interface ProcessScope {
  procsFile?: string;
  /** Finds procsFile when a scan first needs it (most execs never scan); called once per scan. */
  findProcsFile?: () => Promise<string | undefined>;
  /** /proc (tests may point elsewhere). */
  procRoot?: string;
}

/** Most fds looked at per process when searching for holders of a pipe. */
const MAX_FDS_PER_PROCESS = 4096;
/** Most processes looked at per scan. */
const MAX_PROCESSES = 65_536;

/** True while the process `p` names runs (same start time, not a zombie). */
export async function stillRuns(p: ProcStat, procRoot = '/proc'): Promise<boolean> {
  const now = await readProcStat(p.pid, procRoot);
  return isRunning(now) && now.startTime === p.startTime;
}

async function scopePids(scope: ProcessScope): Promise<number[]> {
  const procRoot = scope.procRoot ?? '/proc';
  const procsFile = scope.procsFile ?? (await scope.findProcsFile?.());
  const text = procsFile
    ? await fs.readFile(procsFile, 'utf8').catch(() => '')
    : (await fs.readdir(procRoot).catch(() => [] as string[])).join('\n');
  const out: number[] = [];
  for (const line of text.split('\n')) {
    const pid = Number(line);
    if (Number.isInteger(pid) && pid > 0) out.push(pid);
    if (out.length >= MAX_PROCESSES) break;
  }
  return out;
}

/** Live (non-zombie) processes of the scope. */
export async function scopeProcesses(scope: ProcessScope): Promise<ProcStat[]> {
  const procRoot = scope.procRoot ?? '/proc';
  const stats = await Promise.all((await scopePids(scope)).map((pid) => readProcStat(pid, procRoot)));
  return stats.filter(isRunning);
}

/** The pipes among `pid`'s fds ("pipe:[123]"; both ends share it): all but `skip`, or only those in `only`. */
export async function pipeInodes(pid: number, fds: { skip?: readonly number[]; only?: readonly number[] } = {}, procRoot = '/proc'): Promise<Set<string>> {
  const out = new Set<string>();
  const dir = path.join(procRoot, String(pid), 'fd');
  if (fds.only) {
    for (const fd of fds.only) {
      const target = await fs.readlink(path.join(dir, String(fd))).catch(() => '');
      if (target.startsWith('pipe:[')) out.add(target);
    }
    return out;
  }
  let handle;
  try {
    handle = await fs.opendir(dir);
  } catch {
    return out;
  }
  let seen = 0;
  try {
    for await (const entry of handle) {
      if (++seen > MAX_FDS_PER_PROCESS) break;
      if (fds.skip?.includes(Number(entry.name))) continue;
      const target = await fs.readlink(path.join(dir, entry.name)).catch(() => '');
      if (target.startsWith('pipe:[')) out.add(target);
    }
  } catch {
    // the process exited while being read
  }
  return out;
}

/** True when `pid` has a write end of a pipe in `inodes` open (fdinfo's access mode; a reader never holds EOF back). */
async function holdsWriteEnd(pid: number, inodes: ReadonlySet<string>, procRoot = '/proc'): Promise<boolean> {
  const dir = path.join(procRoot, String(pid));
  let handle;
  try {
    handle = await fs.opendir(path.join(dir, 'fd'));
  } catch {
    return false;
  }
  let seen = 0;
  try {
    for await (const entry of handle) {
      if (++seen > MAX_FDS_PER_PROCESS) break;
      const target = await fs.readlink(path.join(dir, 'fd', entry.name)).catch(() => '');
      if (!inodes.has(target)) continue;
      const info = await fs.readFile(path.join(dir, 'fdinfo', entry.name), 'utf8').catch(() => '');
      const flags = /^flags:\s*([0-7]+)$/m.exec(info);
      if (!flags || (parseInt(flags[1], 8) & 3) !== 0) return true; // O_WRONLY or O_RDWR (or unknown)
    }
  } catch {
    // the process exited while being read
  }
  return false;
}

/** Processes of the scope holding a write end of any pipe in `inodes`. */
export async function pipeHolders(scope: ProcessScope, inodes: ReadonlySet<string>, procs?: ProcStat[]): Promise<ProcStat[]> {
  if (inodes.size === 0) return [];
  const list = procs ?? (await scopeProcesses(scope));
  const held = await Promise.all(list.map((p) => holdsWriteEnd(p.pid, inodes, scope.procRoot)));
  return list.filter((_, i) => held[i]);
}

/** The exec's processes (see the file comment): its session, its descendants and the holders of `outputPipes`. */
export async function execProcesses(scope: ProcessScope, execPid: number, outputPipes: ReadonlySet<string>): Promise<ProcStat[]> {
  const procs = await scopeProcesses(scope);
  const byPid = new Map(procs.map((p) => [p.pid, p]));
  const isDescendant = (p: ProcStat): boolean => {
    for (let cur: ProcStat | undefined = p, hops = 0; cur && hops < procs.length + 1; cur = byPid.get(cur.ppid), hops++) {
      if (cur.pid === execPid || cur.ppid === execPid) return true;
    }
    return false;
  };
  const chosen = new Map<number, ProcStat>();
  for (const p of procs) if (p.session === execPid || isDescendant(p)) chosen.set(p.pid, p);
  for (const p of await pipeHolders(scope, outputPipes, procs)) chosen.set(p.pid, p);
  return [...chosen.values()];
}

/** SIGKILLs each process that is still the one `p` names (never berthd itself or pid 1); returns how many were signalled. */
export async function killAll(procs: readonly ProcStat[], procRoot = '/proc'): Promise<number> {
  let n = 0;
  for (const p of procs) {
    if (p.pid === process.pid || p.pid === 1 || !(await stillRuns(p, procRoot))) continue;
    try {
      process.kill(p.pid, 'SIGKILL');
      n++;
    } catch {
      // exited meanwhile
    }
  }
  return n;
}

/**
 * Kills what `find` returns until it returns nothing (a process may fork until it is killed) or
 * `waitMs` passes; true when nothing is left. Dead processes left as zombies count as gone.
 */
export async function killUntilGone(find: () => Promise<ProcStat[]>, waitMs: number, procRoot = '/proc'): Promise<boolean> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const left = await find();
    if (left.length === 0) return true;
    if (Date.now() >= deadline) return false;
    await killAll(left, procRoot);
    await new Promise((r) => setTimeout(r, 10));
  }
}
