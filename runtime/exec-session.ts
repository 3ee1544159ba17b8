/**
 * Streaming exec (the Exec RPC's session, run by the streaming server): `runc exec` with the
 * client's stdin/stdout/stderr piped through, killed when the client goes away. Shapes match
 * cri/streaming/backends.ts's ExecBackend structurally (runtime/ does not import cri/).
 *
 * Terminal sessions (tty) run in exec-tty.ts: they need a pseudoterminal from native/.
 */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { FailedPreconditionError, InvalidArgumentError, RuntimeError, UnimplementedError } from '../common/errors';
import type { ContainerRecord } from './container-record';
import { readSpec } from './container-ops';
import { killExecProcess } from './exec-kill';
import type { OciRuntimeDriver } from './oci-runtime';
import { runTtyExecSession, type ExecTtyNative } from './exec-tty';
// Attach is the other streaming session; re-exported so the manager imports sessions from one place.
export { runAttachSession, type AttachIo } from './attach';
import { runcError } from './runc-errors';

/** The client's streams (a structural copy of the streaming server's SessionIo). */
export interface ExecSessionIo {
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  tty: boolean;
  /** Terminal sizes, in order (only under tty). */
  resize?: AsyncIterable<{ width: number; height: number }>;
}

/** How much of runc's stderr is kept (for its error message) when the client has no stderr. */
const RUNTIME_STDERR_TAIL_BYTES = 64 * 1024;

/** Keeps the last `limit` bytes pushed (at most twice that in memory). */
export class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    if (this.size > 2 * this.limit) {
      const all = Buffer.concat(this.chunks, this.size);
      this.chunks = [all.subarray(all.length - this.limit)];
      this.size = this.limit;
    }
  }

  /** The kept bytes as text (the tail of the stream). */
  text(): string {
    const all = Buffer.concat(this.chunks, this.size);
    return all.subarray(Math.max(0, all.length - this.limit)).toString();
  }
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
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-exec-'));
  const pidFile = path.join(dir, 'pid');
  try {
    await fs.writeFile(path.join(dir, 'process.json'), JSON.stringify(proc));
    // A stream the client did not ask for goes to /dev/null: nothing of it is held here.
    const child = spawn(runtime.binary, ['--root', runtime.root, 'exec', '--process', path.join(dir, 'process.json'), '--pid-file', pidFile, rec.id], {
      stdio: [io.stdin ? 'pipe' : 'ignore', io.stdout ? 'pipe' : 'ignore', 'pipe'],
    });
    // pipe(): the process's pipe is read only while the client's stream takes more (write() true),
    // so a client that stops reading blocks the process instead of growing berthd.
    if (io.stdout && child.stdout) forwardWithBackpressure(child.stdout, io.stdout);
    // runc reports its own failures on stderr; without a client stderr only its tail is kept.
    const runtimeStderr = new TailBuffer(RUNTIME_STDERR_TAIL_BYTES);
    if (io.stderr) forwardWithBackpressure(child.stderr!, io.stderr);
    else child.stderr!.on('data', (d: Buffer) => runtimeStderr.push(d));
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
        child.on('error', (e) => reject(new RuntimeError(`exec in container ${rec.id}: start ${runtime.binary}`, { cause: e })));
        child.on('close', (c, sig) => resolve(c ?? 128 + (sig ? os.constants.signals[sig] : 9)));
      });
      // runc exits 255 with its own error when it could not start the process at all.
      const runcOutput = runtimeStderr.text();
      if (code === 255 && /level=(error|fatal)/.test(runcOutput)) throw runcError('exec', rec.id, runcOutput, code);
      return { exitCode: code };
    } finally {
      signal.removeEventListener('abort', onAbort);
      if (io.stdin && child.stdin) io.stdin.unpipe(child.stdin);
    }
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
