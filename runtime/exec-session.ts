/**
 * Streaming exec (the Exec RPC's session, run by the streaming server): the runtime's exec (argv
 * from the OCI driver) with the client's stdin/stdout/stderr piped through, killed when the client
 * goes away. Shapes match cri/streaming/backends.ts's ExecBackend structurally (runtime/ does not
 * import cri/).
 *
 * Terminal sessions (tty) run in exec-tty.ts: they need a pseudoterminal from native/.
 */
import { spawn } from 'node:child_process';
import * as os from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { FailedPreconditionError, InvalidArgumentError, RuntimeError, UnimplementedError } from '../common/errors';
import type { ContainerRecord } from './container-record';
import { readSpec } from './container-ops';
import { killExecProcess } from './exec-kill';
import type { OciRuntimeDriver } from './oci-runtime';
import { runTtyExecSession, type ExecTtyNative } from './exec-tty';
// Attach is the other streaming session; re-exported so the manager imports sessions from one place.
export { runAttachSession, type AttachIo } from './attach';

/** The client's streams (a structural copy of the streaming server's SessionIo). */
export interface ExecSessionIo {
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  tty: boolean;
  /** Terminal sizes, in order (only under tty). */
  resize?: AsyncIterable<{ width: number; height: number }>;
}

/**
 * Pipes process output to a client stream with backpressure, never ending the client stream (the
 * session writes its status after). If the client stream goes away first, the rest of the output
 * is discarded so the process is not left blocked on a full pipe.
 */
function forwardWithBackpressure(from: Readable, to: Writable): void {
  from.pipe(to, { end: false });
  to.once('close', () => {
    from.unpipe(to);
    from.resume();
  });
}

/**
 * Runs `cmd` in the container with `io`; resolves with the exit code. `native` (the daemon's
 * NativeBinding) is needed only for a terminal.
 */
export async function runExecSession(rec: ContainerRecord, runtime: OciRuntimeDriver, cmd: string[], io: ExecSessionIo, signal: AbortSignal, native?: ExecTtyNative): Promise<{ exitCode: number }> {
  if (cmd.length === 0) throw new InvalidArgumentError('cmd is empty');
  if (rec.state !== 'running') throw new FailedPreconditionError(`container ${rec.id} is ${rec.state}, not running`);
  if (io.tty) {
    if (!native) throw new UnimplementedError('exec with a terminal needs the native addon (openPty, setWindowSize)');
    return runTtyExecSession(rec, runtime, cmd, io, signal, native);
  }
  const spec = await readSpec(rec);
  const proc = { ...spec.process, args: cmd, terminal: false };
  delete proc.oomScoreAdj;
  const exec = await runtime.prepareExec(rec.id, proc, { tty: false });
  const pidFile = exec.pidFile;
  try {
    // A stream the client did not ask for goes to /dev/null: nothing of it is held here.
    const child = spawn(exec.file, exec.args, {
      stdio: [io.stdin ? 'pipe' : 'ignore', io.stdout ? 'pipe' : 'ignore', 'pipe'],
    });
    // pipe(): the process's pipe is read only while the client's stream takes more (write() true),
    // so a client that stops reading blocks the process instead of growing berthd.
    if (io.stdout && child.stdout) forwardWithBackpressure(child.stdout, io.stdout);
    // Without a client stderr the process's stderr is read and dropped (runc's own errors are in its log).
    if (io.stderr) forwardWithBackpressure(child.stderr!, io.stderr);
    else child.stderr!.resume();
    if (io.stdin && child.stdin) {
      io.stdin.pipe(child.stdin);
      child.stdin.on('error', () => undefined); // the process may exit before reading everything
    }
    const onAbort = () => {
      // The client is gone: nothing waits for the output any more, and a paused pipe would keep
      // 'close' from ever firing.
      for (const out of [child.stdout, child.stderr]) {
        out?.unpipe();
        out?.resume();
      }
      const runcRunning = () => child.exitCode === null && child.signalCode === null;
      void killExecProcess(pidFile, runcRunning).catch(() => undefined).finally(() => child.kill('SIGKILL'));
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    try {
      const code = await new Promise<number>((resolve, reject) => {
        child.on('error', (e) => reject(new RuntimeError(`exec in container ${rec.id}: start ${exec.file}`, { cause: e })));
        child.on('close', (c, sig) => resolve(c ?? 128 + (sig ? os.constants.signals[sig] : 9)));
      });
      const failure = await exec.runtimeFailure(code);
      if (failure) throw failure;
      return { exitCode: code };
    } finally {
      signal.removeEventListener('abort', onAbort);
      if (io.stdin && child.stdin) io.stdin.unpipe(child.stdin);
    }
  } finally {
    await exec.dispose();
  }
}
