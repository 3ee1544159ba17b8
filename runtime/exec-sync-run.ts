/**
 * One ExecSync through `runc exec` (no tty, not detached), with two guarantees runc alone does not give:
 *
 * - The answer follows the command's exit, not the end of its output. runc copies the process's
 *   stdout/stderr through its own pipes and exits only at their EOF, so a background child still
 *   holding them (`sleep 15 & echo started`) would hold the reply — and runc keeps the exit status
 *   until then. The exec'd pid (runc's --pid-file) is watched; once it has exited and runc has not
 *   finished within a short grace, the processes holding runc's output pipes are killed (exactly
 *   those: a background child that redirected its output keeps running, as with other runtimes),
 *   runc sees EOF and exits with the command's real status. What was read is returned.
 * - On a timeout, everything the exec started is killed and gone (exec-processes.ts: its session,
 *   descendants and output holders within the container's cgroup) before the caller answers
 *   DEADLINE_EXCEEDED; runc cannot forward SIGKILL, so the processes are killed directly.
 *
 * Output is capped, both streams together (bytes beyond are read and dropped), so a `yes` cannot
 * grow memory and the reply fits in one gRPC message.
 */
import { promises as fs } from 'node:fs';
import { defaultProcessSpawner, drainPipe, type ChildExit, type ProcessSpawner, type SpawnedChild } from '../native/process-spawner';
import { execProcesses, killAll, killUntilGone, pipeHolders, pipeInodes, readProcStat, stillRuns, type ProcessScope, type ProcStat } from './exec-processes';
import { collector } from './run-command';

export interface RuncExecSyncOptions {
  binary: string;
  /** runc's argv after the binary; it must pass `--pid-file <pidFile>`. */
  args: readonly string[];
  pidFile: string;
  /** Kill everything the exec started after this long (undefined or 0: never). */
  timeoutMs?: number;
  /** Cap of stdout and stderr together (bytes beyond are read and dropped). */
  maxOutputBytes: number;
  /** The container's processes (its cgroup.procs). */
  scope: ProcessScope;
  spawner?: ProcessSpawner;
  /**
   * Instead of spawning `binary`: a process already started (execInContainer) that IS the exec'd
   * command (no runtime in between, no pid file), with the names of its output pipes.
   */
  direct?: { child: SpawnedChild; outputPipes: ReadonlySet<string> };
  /** After the command exits, how long runc and the pipes get to finish on their own (default 200 ms). */
  exitGraceMs?: number;
  /** How often the command's pid is checked (default 50 ms). */
  pollMs?: number;
  /** Bound on killing the exec's processes and waiting for them to go (default 2 s). */
  killWaitMs?: number;
}

export interface RuncExecSyncResult {
  /** runc's exit: the command's status, or runc's own failure. */
  exit: ChildExit;
  stdout: Buffer;
  stderr: Buffer;
  timedOut: boolean;
  /** Processes killed because they kept the output open after the command exited. */
  outputHoldersKilled: number;
  /** After a timeout: some process of the exec was still there when the kill wait ended. */
  leftovers: boolean;
}

/** Resolves true when `p` settles within `ms`, false otherwise. */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)));
  try {
    return await Promise.race([p.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The exec'd process once runc has written its pid file: its stat, or 'exited' if it is already gone. */
async function execProcess(pidFile: string, procRoot?: string): Promise<ProcStat | 'exited' | undefined> {
  const text = await fs.readFile(pidFile, 'utf8').catch(() => '');
  const pid = Number(text.trim());
  if (!(pid > 0)) return undefined;
  const stat = await readProcStat(pid, procRoot);
  return stat && stat.state !== 'Z' && stat.state !== 'X' ? stat : 'exited';
}

/** The directly started command: its stat, or 'exited' once reaped or a zombie. */
async function directProcess(pid: number, reaped: boolean, procRoot?: string): Promise<ProcStat | 'exited'> {
  const stat = reaped ? undefined : await readProcStat(pid, procRoot);
  return stat && stat.state !== 'Z' && stat.state !== 'X' ? stat : 'exited';
}

/** Runs runc exec to the command's end (or the timeout); see the file comment. */
export async function runcExecSync(o: RuncExecSyncOptions): Promise<RuncExecSyncResult> {
  const grace = o.exitGraceMs ?? 200;
  const poll = o.pollMs ?? 50;
  const killWait = o.killWaitMs ?? 2000;
  const procRoot = o.scope.procRoot;
  const spawner = o.spawner ?? defaultProcessSpawner();
  const child = o.direct?.child ?? (await spawner.spawn(o.binary, o.args, { stdio: ['ignore', 'out', 'out'], env: process.env }));
  const budget = { left: o.maxOutputBytes };
  const out = collector(o.maxOutputBytes, budget);
  const err = collector(o.maxOutputBytes, budget);
  let runcExit: ChildExit | undefined;
  const done = Promise.all([child.exited.then((e) => (runcExit = e)), drainPipe(child.pipes[1]!, out.push), drainPipe(child.pipes[2]!, err.push)]);
  const started = Date.now();
  let exec: ProcStat | 'exited' | undefined;
  let exitedAt: number | undefined;
  let execPipes: Set<string> | undefined;
  let runcPipes: Set<string> | undefined;
  const outputHolders = new Set<number>();
  let timedOut = false;
  let leftovers = false;
  // The command's output pipes: its fds 1 and 2 when it was seen alive; else runc's own pipes
  // (fds 0-2 are /dev/null and ours) minus any berthd holds too (inherited, not runc's).
  const runcOutputPipes = async (): Promise<Set<string>> => {
    if (execPipes && execPipes.size > 0) return execPipes;
    if (o.direct) return new Set(o.direct.outputPipes);
    if (runcPipes) return runcPipes;
    const own = await pipeInodes(process.pid, {}, procRoot);
    const runcs = runcExit ? new Set<string>() : await pipeInodes(child.pid, { skip: [0, 1, 2] }, procRoot);
    runcPipes = new Set([...runcs].filter((inode) => !own.has(inode)));
    return runcPipes;
  };
  // runc and the command's other ancestors hold those pipes too while they wait for it: they are not
  // in the container's cgroup, but a wider scope (or a runtime wrapping runc) may list them
  const ancestors = new Set<number>(o.direct ? [] : [child.pid]);
  const notRunc = (procs: ProcStat[]) => procs.filter((p) => !ancestors.has(p.pid));
  const holders = async () => notRunc(await pipeHolders(o.scope, await runcOutputPipes()));
  const ofExec = (pid: number) => async () => notRunc(await execProcesses(o.scope, pid, await runcOutputPipes()));
  /** Reads the exec'd process once runc has written its pid: its output pipes and its ancestors while it runs. */
  const lookForExec = async () => {
    exec = o.direct ? await directProcess(child.pid, runcExit !== undefined, procRoot) : await execProcess(o.pidFile, procRoot);
    if (exec === undefined || exec === 'exited') return;
    execPipes = await pipeInodes(exec.pid, { only: [1, 2] }, procRoot);
    for (let p = await readProcStat(exec.ppid, procRoot); p && p.pid > 1 && !ancestors.has(p.pid); p = await readProcStat(p.ppid, procRoot)) ancestors.add(p.pid);
  };
  const stopRunc = () => {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already exited
    }
  };
  try {
    for (;;) {
      const remaining = o.timeoutMs ? started + o.timeoutMs - Date.now() : poll;
      if (await settlesWithin(done, Math.max(0, Math.min(poll, remaining)))) break;
      if (o.timeoutMs && Date.now() - started >= o.timeoutMs) {
        timedOut = true;
        break;
      }
      if (exec === undefined) await lookForExec();
      if (exec === undefined) continue;
      if (exitedAt === undefined) {
        if (exec === 'exited' || !(await stillRuns(exec, procRoot))) exitedAt = Date.now();
        continue;
      }
      const since = Date.now() - exitedAt;
      if (since < grace) continue;
      // The command has exited; runc still waits for EOF on its output.
      const found = await holders();
      for (const p of found) outputHolders.add(p.pid);
      await killAll(found, procRoot);
      if (since > grace + killWait) {
        // Holders that could not be found or killed: end the exec's session too, then runc.
        if (exec !== 'exited') await killUntilGone(ofExec(exec.pid), killWait, procRoot);
        if (!(await settlesWithin(done, grace))) stopRunc();
        break;
      }
    }
    if (timedOut) {
      // runc writes the pid file only once the process started: give it the kill wait to appear.
      for (const until = Date.now() + killWait; exec === undefined && runcExit === undefined && Date.now() < until; ) {
        await lookForExec();
        if (exec === undefined) await new Promise((r) => setTimeout(r, 10));
      }
      await runcOutputPipes();
      const execPid = exec !== undefined && exec !== 'exited' ? exec.pid : o.direct ? child.pid : Number((await fs.readFile(o.pidFile, 'utf8').catch(() => '')).trim());
      leftovers = !(await killUntilGone(execPid > 0 ? ofExec(execPid) : holders, killWait, procRoot));
      // runc exits once it has reaped the command and its pipes have closed
      if (!(await settlesWithin(done, grace + killWait))) stopRunc();
    }
    // Either runc has finished, or it was killed: read what is buffered, then stop reading.
    if (!(await settlesWithin(done, grace))) stopRunc();
    const exit = runcExit ?? (await settlesWithin(child.exited, killWait).then(() => runcExit)) ?? { exitCode: null, signal: 'SIGKILL' as NodeJS.Signals };
    return { exit, stdout: out.data(), stderr: err.data(), timedOut, outputHoldersKilled: outputHolders.size, leftovers };
  } finally {
    child.pipes[1]?.destroy();
    child.pipes[2]?.destroy();
  }
}
