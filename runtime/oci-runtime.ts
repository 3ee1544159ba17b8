/**
 * The OCI runtime driver: runc (or crun) through its CLI. `create` happens inside conmon
 * (runtime/conmon.ts); this driver does start, kill, delete, state, update and exec. Each
 * handler has its own `--root` under the run root. Failures become typed errors in runc-errors.ts.
 */
import { constants as fsc, close as closeFd, fstat, open as openFd, promises as fs } from 'node:fs';
import { promisify } from 'node:util';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { DeadlineExceededError, FailedPreconditionError, RuntimeError, errnoCode } from '../common/errors';
import { isRunning, readProcStat, readProcStatSync } from '../common/proc-stat';
import { runcError } from './runc-errors';
import { runcExecSync } from './exec-sync-run';
import { runCommand } from './run-command';
import type { OciProcess, OciResources } from './spec/oci-types';

/** `runc state` output. */
export interface RuncState {
  id: string;
  pid: number;
  status: 'creating' | 'created' | 'running' | 'stopped' | 'paused';
  bundle: string;
  created: string;
}

export interface ExecResult {
  exitCode: number;
  stdout: Buffer;
  stderr: Buffer;
}

/** What the container manager needs of an OCI runtime. */
export interface OciRuntimeDriver {
  /** Path of the runtime binary (passed to conmon). */
  readonly binary: string;
  /** The runtime's --root directory. */
  readonly root: string;
  /** Lets the created container run; `initPid` (the pid conmon reported) lets a start notice a dead init. */
  start(id: string, initPid?: number): Promise<void>;
  /** Sends `signal` (e.g. "TERM", "KILL") to the init process; NotFound/FailedPrecondition when gone. */
  kill(id: string, signal: string): Promise<void>;
  /** Deletes the container; succeeds when it does not exist. */
  delete(id: string, force: boolean): Promise<void>;
  /** undefined when runc does not know the container. */
  state(id: string): Promise<RuncState | undefined>;
  update(id: string, resources: OciResources): Promise<void>;
  /** Runs `process` in the container; DeadlineExceededError after `timeoutMs` (the process is killed); `maxOutputBytes` caps stdout and stderr together. */
  exec(id: string, process: OciProcess, opts: { timeoutMs?: number; maxOutputBytes: number }): Promise<ExecResult>;
}

/** How long a start through the exec fifo waits for the container's init before giving up. */
const EXEC_FIFO_TIMEOUT_MS = 10_000;

/** runc/crun CLI driver. */
export class RuncDriver implements OciRuntimeDriver {
  /**
   * runc only: start through its exec fifo (startViaExecFifo), signal its init directly
   * (signalInitDirectly) and delete a stopped container's cgroups and state directly
   * (deleteStoppedDirectly) instead of spawning `runc start` / `runc kill` / `runc delete`.
   */
  private readonly directOps: boolean;

  constructor(
    readonly binary: string,
    readonly root: string,
    opts: { directOps?: boolean } = {},
  ) {
    this.directOps = opts.directOps ?? path.basename(binary) === 'runc';
  }

  private args(...rest: string[]): string[] {
    return ['--root', this.root, ...rest];
  }

  private async run(verb: string, id: string, args: string[], input?: string): Promise<string> {
    const r = await runCommand(this.binary, this.args(...args), { input });
    if (r.exitCode !== 0) throw runcError(verb, id, r.stderr.toString() + r.stdout.toString(), r.exitCode);
    return r.stdout.toString();
  }

  async start(id: string, initPid?: number): Promise<void> {
    if (this.directOps && isPlainId(id) && (await startViaExecFifo(path.join(this.root, id), id, initPid, EXEC_FIFO_TIMEOUT_MS))) return;
    await this.run('start', id, ['start', id]);
  }

  async kill(id: string, signal: string): Promise<void> {
    if (this.directOps && isPlainId(id) && (await signalInitDirectly(path.join(this.root, id), signal))) return;
    await this.run('kill', id, ['kill', id, signal]);
  }

  async delete(id: string, force: boolean): Promise<void> {
    if (this.directOps && isPlainId(id) && (await deleteStoppedDirectly(path.join(this.root, id)))) return;
    const r = await runCommand(this.binary, this.args('delete', ...(force ? ['--force'] : []), id));
    if (r.exitCode === 0) return;
    const err = runcError('delete', id, r.stderr.toString(), r.exitCode);
    if (err.kind === 'NotFound') return; // already gone: Remove is idempotent
    throw err;
  }

  async state(id: string): Promise<RuncState | undefined> {
    const r = await runCommand(this.binary, this.args('state', id));
    if (r.exitCode !== 0) {
      const err = runcError('state', id, r.stderr.toString(), r.exitCode);
      if (err.kind === 'NotFound') return undefined;
      throw err;
    }
    return JSON.parse(r.stdout.toString()) as RuncState;
  }

  async update(id: string, resources: OciResources): Promise<void> {
    await this.run('update', id, ['update', '--resources', '-', id], JSON.stringify(resources));
  }

  async exec(id: string, proc: OciProcess, opts: { timeoutMs?: number; maxOutputBytes: number }): Promise<ExecResult> {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-exec-'));
    try {
      const processFile = path.join(dir, 'process.json');
      const pidFile = path.join(dir, 'pid');
      await fs.writeFile(processFile, JSON.stringify(proc));
      const procsFile = isPlainId(id) ? await containerProcsFile(path.join(this.root, id)) : undefined;
      const r = await runcExecSync({
        binary: this.binary,
        args: this.args('exec', '--process', processFile, '--pid-file', pidFile, id),
        pidFile,
        timeoutMs: opts.timeoutMs,
        maxOutputBytes: opts.maxOutputBytes,
        scope: { procsFile },
      });
      if (r.timedOut) {
        const left = r.leftovers ? ' (some of its processes could not be killed)' : '';
        throw new DeadlineExceededError(`exec in container ${id}: command timed out after ${opts.timeoutMs} ms${left}`);
      }
      if (r.exit.exitCode === null) throw new RuntimeError(`exec in container ${id}: runc was killed by ${r.exit.signal}`);
      // runc exits 255 with its own message when it could not start the process at all.
      if (r.exit.exitCode === 255 && /level=(error|fatal)/.test(r.stderr.toString())) {
        throw runcError('exec', id, r.stderr.toString(), r.exit.exitCode);
      }
      return { exitCode: r.exit.exitCode, stdout: r.stdout, stderr: r.stderr };
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }
}

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
function isPlainId(id: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(id) && id !== '..';
}

/** runc's state.json fields read here (libcontainer's State). */
interface RuncStateFile {
  init_process_pid?: number;
  init_process_start?: number;
  cgroup_paths?: Record<string, string>;
}

async function readRuncState(stateDir: string): Promise<RuncStateFile | undefined> {
  try {
    return JSON.parse(await fs.readFile(path.join(stateDir, 'state.json'), 'utf8')) as RuncStateFile;
  } catch {
    return undefined;
  }
}

/** True when the init process runc recorded is still that process (pid and start time agree, not a zombie). */
async function initStillRuns(state: RuncStateFile): Promise<boolean> {
  const pid = state.init_process_pid;
  if (!pid || pid <= 0) return false;
  const stat = await readProcStat(pid);
  return isRunning(stat) && stat.startTime === state.init_process_start;
}

/**
 * `runc delete` of a container whose init has exited, without spawning runc: what runc's destroy
 * does for a stopped container — remove its cgroup directories (state.json's cgroup_paths) and
 * its state directory. Returns false (the caller runs `runc delete`) when the init still runs,
 * the state is unreadable, or a cgroup will not go (busy, or has children runc removes itself).
 */
export async function deleteStoppedDirectly(stateDir: string): Promise<boolean> {
  const state = await readRuncState(stateDir);
  if (!state || (await initStillRuns(state))) return false;
  // One leaf per controller hierarchy (about ten on cgroup v1): removed concurrently, not one by one.
  const dirs = [...new Set(Object.values(state.cgroup_paths ?? {}))].filter((dir) => dir && path.isAbsolute(dir));
  const removed = await Promise.all(dirs.map((dir) => fs.rmdir(dir).then(() => true, (err: unknown) => errnoCode(err) === 'ENOENT')));
  if (removed.includes(false)) return false;
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
