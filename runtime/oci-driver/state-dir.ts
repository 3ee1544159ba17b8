/**
 * What berth reads and writes in a runc container's state directory (`<root>/<id>/`) instead of
 * spawning runc: `exec.fifo` (start), `state.json` (the init's pid and start time, the cgroup
 * paths: kill, delete of a stopped container, the container's process list). Used only for runc,
 * whose state layout this follows (libcontainer's State); crun keeps its own and goes through its CLI.
 */
import { constants as fsc, close as closeFd, fstat, open as openFd, promises as fs } from 'node:fs';
import { promisify } from 'node:util';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { FailedPreconditionError, RuntimeError, errnoCode } from '../../common/errors';
import { isRunning, readProcStat, readProcStatSync } from '../../common/proc-stat';
import { killAll, scopeProcesses } from '../exec-processes';

/**
 * The cgroup.procs file listing a runc container's processes (state.json's cgroup paths: the
 * pids or memory hierarchy on cgroup v1, the unified one on v2); undefined when unknown.
 */
export async function containerProcsFile(stateDir: string): Promise<string | undefined> {
  const paths = (await readRuncState(stateDir))?.cgroup_paths ?? {};
  const dir = paths.pids || paths.memory || paths[''] || Object.values(paths).find(Boolean);
  return dir && path.isAbsolute(dir) ? path.join(dir, 'cgroup.procs') : undefined;
}

/**
 * `runc start` without spawning runc. A created runc container's init blocks opening
 * `<state dir>/exec.fifo` for writing; `runc start` opens it for reading, reads the one byte init
 * writes before it execs the user process, and removes the fifo (whose presence is what makes
 * `runc state` say "created"). See runc libcontainer/container_linux.go (exec, handleFifoResult)
 * and standard_init_linux.go. Doing the same here saves a fork of berthd plus the Go runtime start
 * of runc — most of StartContainer's own cost.
 *
 * The fifo is opened O_RDWR|O_NONBLOCK: it never blocks, init's open for writing succeeds at once,
 * and there is no "no writer yet" EOF to misread. A dead init (checked via /proc every 20 ms) or
 * the timeout ends the wait instead of hanging.
 *
 * Returns false when there is no fifo (not a created runc container): the caller then runs the
 * runtime's own `start`, which reports the right error.
 */
export async function startViaExecFifo(stateDir: string, id: string, initPid: number | undefined, timeoutMs: number): Promise<boolean> {
  const fifo = path.join(stateDir, 'exec.fifo');
  let fd: number;
  try {
    // A raw fd (not a FileHandle, which would close it again on GC once the socket owns it); libuv adds O_CLOEXEC.
    fd = await promisify(openFd)(fifo, fsc.O_RDWR | fsc.O_NONBLOCK);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return false;
    throw new RuntimeError(`start container ${id}: open its exec fifo`, { cause: err });
  }
  const isFifo = await promisify(fstat)(fd).then((st) => st.isFIFO(), () => false);
  if (!isFifo) {
    await promisify(closeFd)(fd).catch(() => undefined);
    return false;
  }
  // A libuv pipe over the fd: the read waits in epoll, not on a thread of the pool.
  const pipe = new net.Socket({ fd, readable: true, writable: false });
  try {
    await new Promise<void>((resolve, reject) => {
      const started = Date.now();
      let settled = false;
      const done = (err?: Error) => {
        if (settled) return;
        settled = true;
        clearInterval(watchdog);
        pipe.removeAllListeners('data');
        if (err) reject(err);
        else resolve();
      };
      const watchdog = setInterval(() => {
        // An init that took the signal and whose command exited at once (e.g. `true`) is dead
        // too, with its byte still unread in the fifo: decide after this turn's poll phase, which
        // delivers that byte first.
        if (initPid && initPid > 0 && !processAlive(initPid)) setImmediate(() => done(new FailedPreconditionError(`start container ${id}: its init process ${initPid} exited before start`)));
        else if (Date.now() - started > timeoutMs) done(new RuntimeError(`start container ${id}: its init did not take the start signal within ${timeoutMs} ms`));
      }, 20);
      pipe.once('data', () => done());
      pipe.once('error', (e) => done(new RuntimeError(`start container ${id}: read its exec fifo`, { cause: e })));
    });
  } finally {
    pipe.destroy(); // closes the fd (the FileHandle gave it up to the socket)
  }
  await fs.rm(fifo, { force: true });
  return true;
}

/** True while `pid` exists and is not a zombie. */
function processAlive(pid: number): boolean {
  return isRunning(readProcStatSync(pid));
}

/** The numeric value of a runc-style signal name ("TERM", "SIGKILL", "9"); undefined if unknown. */
export function signalNumber(signal: string): number | undefined {
  if (/^[0-9]+$/.test(signal)) return Number(signal);
  const name = (signal.startsWith('SIG') ? signal : `SIG${signal}`) as keyof typeof os.constants.signals;
  return os.constants.signals[name];
}

/** An id that names a directory directly under the runtime root (never `..` or a path). */
export function isPlainId(id: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(id) && id !== '..';
}

/** runc's state.json fields read here (libcontainer's State). */
/** The fields of runc's state.json berth reads. */
export interface RuncStateFile {
  init_process_pid?: number;
  init_process_start?: number;
  cgroup_paths?: Record<string, string>;
}

/** The container's cgroup directories (one per v1 hierarchy, or the v2 one), from state.json. */
export function cgroupDirs(state: RuncStateFile): string[] {
  return [...new Set(Object.values(state.cgroup_paths ?? {}))].filter((dir) => dir && path.isAbsolute(dir));
}

/** runc's state.json in `stateDir`, or undefined when it is missing or unreadable. */
export async function readRuncState(stateDir: string): Promise<RuncStateFile | undefined> {
  try {
    return JSON.parse(await fs.readFile(path.join(stateDir, 'state.json'), 'utf8')) as RuncStateFile;
  } catch {
    return undefined;
  }
}

/** True when the init process runc recorded is still that process (pid and start time agree, not a zombie). */
export async function initStillRuns(state: RuncStateFile): Promise<boolean> {
  const pid = state.init_process_pid;
  if (!pid || pid <= 0) return false;
  const stat = await readProcStat(pid);
  return isRunning(stat) && stat.startTime === state.init_process_start;
}

/** What deleteStoppedDirectly does to the host (tests replace it). */
export interface DirectDeleteOps {
  rmdir(dir: string): Promise<void>;
  /** SIGKILLs the live processes of cgroup `dir`; returns how many were signalled. */
  killProcesses(dir: string): Promise<number>;
}

const hostDeleteOps: DirectDeleteOps = {
  rmdir: (dir) => fs.rmdir(dir),
  killProcesses: async (dir) => killAll(await scopeProcesses({ procsFile: path.join(dir, 'cgroup.procs') })),
};

/** Removes `dirs` at once: the ones still busy (processes left), or undefined when one will not go for another reason. */
async function removeCgroupDirs(dirs: readonly string[], ops: DirectDeleteOps): Promise<string[] | undefined> {
  const results = await Promise.all(
    dirs.map((dir) =>
      ops.rmdir(dir).then(
        () => 'gone',
        (err: unknown) => (errnoCode(err) === 'ENOENT' ? 'gone' : errnoCode(err) === 'EBUSY' ? 'busy' : 'stays'),
      ),
    ),
  );
  return results.includes('stays') ? undefined : dirs.filter((_, i) => results[i] === 'busy');
}

/** How long a forced delete waits for the killed leftovers to leave the cgroup. */
const LEFTOVER_WAIT_MS = 1000;

/**
 * `runc delete` of a container whose init has exited, without spawning runc: what runc's destroy
 * does for a stopped container — remove its cgroup directories (state.json's cgroup_paths) and
 * its state directory. With `force` (RemoveContainer), processes still in the cgroup are killed
 * first, as `runc delete --force` does: in a pod that shares one pid namespace the init is not
 * PID 1 there, so its children outlive it. Returns false (the caller runs `runc delete`) when the
 * init still runs, the state is unreadable, or a cgroup will not go (busy without force or after
 * the wait, or it has children runc removes itself).
 */
export async function deleteStoppedDirectly(stateDir: string, opts: { force?: boolean; ops?: DirectDeleteOps } = {}): Promise<boolean> {
  const ops = opts.ops ?? hostDeleteOps;
  const state = await readRuncState(stateDir);
  if (!state || (await initStillRuns(state))) return false;
  // One leaf per controller hierarchy (about ten on cgroup v1): removed concurrently, not one by one.
  let busy = await removeCgroupDirs(cgroupDirs(state), ops);
  const deadline = Date.now() + LEFTOVER_WAIT_MS;
  while (opts.force && busy && busy.length > 0 && Date.now() < deadline) {
    await ops.killProcesses(busy[0]); // every hierarchy lists the same processes
    await new Promise((r) => setTimeout(r, 1));
    busy = await removeCgroupDirs(busy, ops);
  }
  if (!busy || busy.length > 0) return false;
  await fs.rm(stateDir, { recursive: true, force: true });
  return true;
}

/**
 * `runc kill <id> <sig>` without spawning runc, for the common case: runc's state.json names the
 * init pid and its start time (in clock ticks, /proc/<pid>/stat field 22); when that process is
 * alive with that start time — the check runc itself makes against pid reuse — signal it.
 * Returns false (the caller runs `runc kill`, which reports the right error) for anything else:
 * no state, a gone or different process, an unknown signal name.
 */
export async function signalInitDirectly(stateDir: string, signal: string): Promise<boolean> {
  const signo = signalNumber(signal);
  if (signo === undefined) return false;
  const state = await readRuncState(stateDir);
  if (!state || !(await initStillRuns(state))) return false;
  try {
    process.kill(state.init_process_pid!, signo);
    return true;
  } catch {
    return false; // exited meanwhile: runc kill reports it
  }
}
