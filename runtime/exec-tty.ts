/**
 * Streaming exec with a terminal (Exec with tty=true).
 *
 * runc passes the container pty's master to `--console-socket` only in detached mode
 * (`runc exec -d`), and a detached exec'd process is re-parented away from us, so its exit code
 * would be lost. So, as cri-o does, runc runs in the foreground with a pseudoterminal of OUR OWN
 * as its stdio (native openPty): runc switches that terminal to raw mode and relays between it and
 * the pty it creates inside the container (`process.terminal: true`), and exits with the process's
 * status. We read and write our master through native `streamFd` (a uv_poll on the event loop,
 * non-blocking writes; no thread pool). runc runs under setsid(1) --ctty with our pty as its controlling terminal: a
 * resize (TIOCSWINSZ on our master) makes the kernel send it SIGWINCH, on which runc copies the size
 * to the container's pty (runc signals.go), and if berthd dies the closed master hangs runc up.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync } from 'node:fs';
import * as os from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { RuntimeError } from '../common/errors';
import type { NativeBinding, SeqpacketSocket } from '../native/binding';
import type { ContainerRecord } from './container-record';
import { readSpec } from './container-ops';
import { killExecProcess } from './exec-kill';
import type { OciRuntimeDriver } from './oci-runtime';

/** The syscalls a terminal exec needs. */
export type ExecTtyNative = Pick<NativeBinding, 'openPty' | 'setWindowSize' | 'streamFd'>;

/** The client's side of a terminal session (structural copy of cri/streaming's SessionIo). */
export interface TtyExecIo {
  stdin?: Readable;
  stdout?: Writable;
  resize?: AsyncIterable<{ width: number; height: number }>;
}

/** How long to keep reading the master after runc exited (output still in the pty buffer). */
const DRAIN_TIMEOUT_MS = 2000;
/** util-linux setsid(1) (Debian: essential package util-linux). */
const SETSID = 'setsid';
/**
 * How long to wait for the client's first terminal size before starting the process. Clients
 * (kubectl, crictl) send it right after the streams open; starting earlier would let the first
 * command see a 0x0 terminal (`stty size` fails) until the resize lands.
 */
const FIRST_SIZE_WAIT_MS = 500;

type SizeIterator = AsyncIterator<{ width: number; height: number }>;
type PendingSize = Promise<IteratorResult<{ width: number; height: number }>>;

/** Waits (bounded) for the client's first terminal size; returns it and the iteration to continue with. */
async function firstSize(io: TtyExecIo): Promise<{ first?: { width: number; height: number }; sizes?: SizeIterator; pending?: PendingSize }> {
  const sizes = io.resize?.[Symbol.asyncIterator]();
  if (!sizes) return {};
  const pending = sizes.next();
  let timer: NodeJS.Timeout | undefined;
  const first = await Promise.race([pending.catch(() => undefined), new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), FIRST_SIZE_WAIT_MS)))]);
  clearTimeout(timer);
  if (!first) return { sizes, pending }; // none yet: keep waiting for it in the session
  if (first.done) return {};
  return { first: first.value, sizes, pending: sizes.next() };
}

/** The exec'd process spec: the container's, with `cmd`, a terminal, and TERM when unset. */
export async function ttyProcessSpec(rec: ContainerRecord, cmd: string[]): Promise<Record<string, unknown>> {
  const spec = await readSpec(rec);
  const env = spec.process.env ?? [];
  const proc: Record<string, unknown> = { ...spec.process, args: cmd, terminal: true, env: env.some((e) => e.startsWith('TERM=')) ? env : [...env, 'TERM=xterm'] };
  delete proc.oomScoreAdj; // the exec joins the container's cgroup and keeps its score
  delete proc.consoleSize;
  return proc;
}

/** Runs `cmd` in the running container `rec` on a terminal; resolves with the exit code. */
export async function runTtyExecSession(
  rec: ContainerRecord,
  runtime: OciRuntimeDriver,
  cmd: string[],
  io: TtyExecIo,
  signal: AbortSignal,
  native: ExecTtyNative,
): Promise<{ exitCode: number }> {
  const proc = await ttyProcessSpec(rec, cmd);
  // runc creates the container's pty with process.consoleSize and only copies our terminal's size
  // after the process started: the first size must be in the spec or the first command sees 0x0.
  const resizes = await firstSize(io);
  if (resizes.first) proc.consoleSize = { height: resizes.first.height, width: resizes.first.width };
  const exec = await runtime.prepareExec(rec.id, proc, { tty: true });
  const pidFile = exec.pidFile;
  try {
    const pty = native.openPty();
    if (resizes.first) setSizeQuietly(native, pty.master, resizes.first);
    let session: TtySession;
    try {
      session = new TtySession(io, native, pty.master, resizes); // owns the master fd from here on
    } catch (err) {
      closeSync(pty.master);
      closeSync(pty.slave);
      throw new RuntimeError(`exec in container ${rec.id}: open the terminal`, { cause: err });
    }
    let child: ChildProcess | undefined;
    try {
      try {
        // setsid(1) --ctty: runc leads its own session with our pty as its controlling terminal, so
        // the kernel sends it SIGWINCH on every TIOCSWINSZ and SIGHUP when the master closes (berthd
        // gone): runc forwards both to the exec'd process, which leaves no orphan behind. Not a
        // process-group leader here, setsid(1) execs runc in place (same pid).
        child = spawn(SETSID, ['--ctty', exec.file, ...exec.args], { stdio: [pty.slave, pty.slave, pty.slave] });
      } finally {
        closeSync(pty.slave); // runc holds its copies; the master reads EIO once they are all gone
      }
      const running = child;
      const runcRunning = () => running.exitCode === null && running.signalCode === null;
      const onAbort = () => void killExecProcess(pidFile, runcRunning).catch(() => undefined).finally(() => running.kill('SIGKILL'));
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      try {
        const code = await new Promise<number>((resolve, reject) => {
          running.on('error', (e) => reject(new RuntimeError(`exec in container ${rec.id}: start ${exec.file}`, { cause: e })));
          running.on('exit', (c, sig) => resolve(c ?? 128 + (sig ? os.constants.signals[sig] : 9)));
        });
        await session.drained(DRAIN_TIMEOUT_MS);
        const failure = await exec.runtimeFailure(code);
        if (failure) throw failure;
        return { exitCode: code };
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    } finally {
      session.close();
    }
  } finally {
    await exec.dispose();
  }
}

/** The master side of one session: output to the client, input and resizes to the terminal. */
class TtySession {
  private closed = false;
  private readonly ended: Promise<void>;
  private readonly master: SeqpacketSocket;

  constructor(
    io: TtyExecIo,
    private readonly native: ExecTtyNative,
    private readonly masterFd: number,
    resizes: { sizes?: SizeIterator; pending?: PendingSize },
  ) {
    let reachedEnd: () => void = () => undefined;
    this.ended = new Promise<void>((resolve) => (reachedEnd = resolve));
    // Not a tty.ReadStream: libuv writes to a pty master blocking, which would freeze berthd's
    // whole event loop once the terminal stops taking input (a big paste into a busy program).
    const master: SeqpacketSocket = native.streamFd(masterFd, {
      onPacket: (chunk) => {
        if (io.stdout && !io.stdout.write(chunk)) {
          master.pause();
          io.stdout.once('drain', () => master.resume());
        }
      },
      // EIO is how a pty master reports that every slave fd is closed: the normal end.
      onEnd: () => reachedEnd(),
    });
    this.master = master;
    if (io.stdin) void this.pumpInput(io.stdin);
    void this.applyResizes(resizes.sizes, resizes.pending);
  }

  /** Waits (bounded) for the rest of the output, then releases the master. */
  async drained(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.ended, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    this.close();
  }

  /** Stops relaying and closes the master (idempotent). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.master.close();
  }

  /** Client input → terminal, one write in flight (so a full terminal holds the client back). */
  private async pumpInput(stdin: Readable): Promise<void> {
    try {
      for await (const chunk of stdin) {
        if (this.closed) return;
        await this.master.send(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
      }
      // Under a terminal the end of stdin is not an end-of-file: the client sends ^D itself.
    } catch {
      // the session ended under us: nothing left to deliver
    }
  }

  private async applyResizes(sizes: SizeIterator | undefined, pending: PendingSize | undefined): Promise<void> {
    while (sizes && pending) {
      const next = await pending.catch(() => undefined);
      if (!next || next.done || this.closed) return;
      // The kernel signals SIGWINCH to runc (our pty is its controlling terminal); runc then copies
      // the size to the container's pty.
      setSizeQuietly(this.native, this.masterFd, next.value);
      pending = sizes.next();
    }
  }
}

/** TIOCSWINSZ that never throws: a size the kernel refuses leaves the previous one. */
function setSizeQuietly(native: ExecTtyNative, fd: number, size: { width: number; height: number }): void {
  try {
    native.setWindowSize(fd, size.height, size.width);
  } catch {
    // keep the previous size
  }
}
