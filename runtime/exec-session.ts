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
import { hasExecTtyNative, runTtyExecSession } from './exec-tty';
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

/**
 * Runs `cmd` in the container with `io`; resolves with the exit code. `native` (the daemon's
 * NativeBinding) is needed only for a terminal.
 */
export async function runExecSession(rec: ContainerRecord, runtime: OciRuntimeDriver, cmd: string[], io: ExecSessionIo, signal: AbortSignal, native?: object): Promise<{ exitCode: number }> {
  if (cmd.length === 0) throw new InvalidArgumentError('cmd is empty');
  if (rec.state !== 'running') throw new FailedPreconditionError(`container ${rec.id} is ${rec.state}, not running`);
  if (io.tty) {
    if (!native || !hasExecTtyNative(native)) throw new UnimplementedError('exec with a terminal needs the native addon (openPty, setWindowSize)');
    return runTtyExecSession(rec, runtime, cmd, io, signal, native);
  }
  const spec = await readSpec(rec);
  const proc = { ...spec.process, args: cmd, terminal: false };
  delete proc.oomScoreAdj;
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-exec-'));
  const pidFile = path.join(dir, 'pid');
  try {
    await fs.writeFile(path.join(dir, 'process.json'), JSON.stringify(proc));
    const child = spawn(runtime.binary, ['--root', runtime.root, 'exec', '--process', path.join(dir, 'process.json'), '--pid-file', pidFile, rec.id], {
      stdio: [io.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    let runtimeStderr = '';
    child.stdout!.on('data', (d: Buffer) => io.stdout?.write(d));
    child.stderr!.on('data', (d: Buffer) => {
      if (io.stderr) io.stderr.write(d);
      else runtimeStderr += d.toString();
    });
    if (io.stdin && child.stdin) {
      io.stdin.pipe(child.stdin);
      child.stdin.on('error', () => undefined); // the process may exit before reading everything
    }
    const onAbort = () => {
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
      if (code === 255 && /level=(error|fatal)/.test(runtimeStderr)) throw runcError('exec', rec.id, runtimeStderr, code);
      return { exitCode: code };
    } finally {
      signal.removeEventListener('abort', onAbort);
      if (io.stdin && child.stdin) io.stdin.unpipe(child.stdin);
    }
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
