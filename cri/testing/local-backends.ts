/**
 * Reference backends that run on the host instead of in containers: processes spawned directly
 * and TCP connections on loopback. They are what the streaming tests and the bench drive until
 * runtime/ and pod/ provide the real ones, and they document the contract by example. They have
 * no pty: under tty, stderr is merged into stdout and resizes are recorded, not applied.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import { constants as osConstants } from 'node:os';
import type { Duplex } from 'node:stream';
import { NotFoundError, RuntimeError, UnavailableError } from '../../common/errors';
import type { AttachBackend, ExecBackend, PortForwardBackend, SessionIo, TerminalSize } from '../streaming/backends';

/** Pipes the session's stdin into a child's stdin (ending it when the client half-closes). */
function wireStdin(io: SessionIo, child: ChildProcess, endOnEof: boolean): void {
  if (!io.stdin || !child.stdin) return;
  child.stdin.on('error', () => undefined);
  io.stdin.pipe(child.stdin, { end: endOnEof });
}

/** Pipes child output to the session; resolves when the child's output streams closed. */
function wireOutput(io: SessionIo, child: ChildProcess): Promise<void> {
  const done: Array<Promise<void>> = [];
  const forward = (from: NodeJS.ReadableStream | null, to: NodeJS.WritableStream | undefined) => {
    if (!from) return;
    if (to) from.pipe(to, { end: false });
    else (from as NodeJS.ReadableStream & { resume(): void }).resume();
    done.push(new Promise((r) => from.once('end', () => r()).once('close', () => r())));
  };
  forward(child.stdout, io.stdout);
  // Under tty the terminal merges stderr into stdout.
  forward(child.stderr, io.tty ? io.stdout : io.stderr);
  return Promise.all(done).then(() => undefined);
}

/** Exec by spawning `cmd` on the host (cmd[0] is the program). */
export class LocalProcessExecBackend implements ExecBackend {
  /** Terminal sizes received per exec, in order (the test hook for resize delivery). */
  readonly resizes: TerminalSize[] = [];

  async exec(_containerId: string, cmd: string[], io: SessionIo, signal: AbortSignal): Promise<{ exitCode: number }> {
    if (cmd.length === 0) throw new RuntimeError('exec: empty command');
    const child = spawn(cmd[0], cmd.slice(1), { stdio: [io.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    const recordResizes = (async () => {
      if (!io.resize) return;
      for await (const size of io.resize) this.resizes.push(size);
    })();
    const kill = () => child.kill('SIGKILL');
    signal.addEventListener('abort', kill, { once: true });
    try {
      wireStdin(io, child, true);
      const output = wireOutput(io, child);
      const exitCode = await new Promise<number>((resolve, reject) => {
        child.once('error', (cause) => reject(new RuntimeError(`exec ${cmd[0]}`, { cause })));
        child.once('exit', (code, sig) => resolve(code ?? 128 + (sig ? signalNumber(sig) : 0)));
      });
      await output;
      return { exitCode };
    } finally {
      signal.removeEventListener('abort', kill);
      void recordResizes;
    }
  }
}

function signalNumber(sig: NodeJS.Signals): number {
  const n = osConstants.signals[sig];
  return typeof n === 'number' ? n : 0;
}

/** Attach to processes registered under a container id (their stdio stands for conmon's). */
export class LocalProcessAttachBackend implements AttachBackend {
  private readonly processes = new Map<string, { child: ChildProcess; stdinOnce: boolean }>();

  /** Makes `child` (spawned with piped stdio) attachable as `containerId`. */
  register(containerId: string, child: ChildProcess, opts: { stdinOnce?: boolean } = {}): void {
    this.processes.set(containerId, { child, stdinOnce: opts.stdinOnce ?? false });
    child.once('exit', () => this.processes.delete(containerId));
  }

  async attach(containerId: string, io: SessionIo, signal: AbortSignal): Promise<void> {
    const entry = this.processes.get(containerId);
    if (!entry) throw new NotFoundError(`attach: container ${containerId} is not running`);
    const { child, stdinOnce } = entry;
    // With stdin_once the container's stdin closes when this client's stdin ends.
    wireStdin(io, child, stdinOnce);
    const onOut = (c: Buffer) => io.stdout?.write(c);
    const onErr = (c: Buffer) => (io.tty ? io.stdout : io.stderr)?.write(c);
    child.stdout?.on('data', onOut);
    child.stderr?.on('data', onErr);
    try {
      await new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('close', () => resolve());
        signal.addEventListener('abort', () => resolve(), { once: true });
      });
    } finally {
      child.stdout?.off('data', onOut);
      child.stderr?.off('data', onErr);
      if (io.stdin && child.stdin) io.stdin.unpipe(child.stdin);
    }
  }
}

/** Port-forward to `host` (default 127.0.0.1) on the host's network, ignoring the pod id. */
export class LoopbackPortForwardBackend implements PortForwardBackend {
  constructor(private readonly host = '127.0.0.1') {}

  connect(_podSandboxId: string, port: number, signal: AbortSignal): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: this.host, port });
      const onAbort = () => socket.destroy();
      signal.addEventListener('abort', onAbort, { once: true });
      socket.once('close', () => signal.removeEventListener('abort', onAbort));
      socket.once('connect', () => {
        socket.off('error', onError);
        socket.setNoDelay(true);
        resolve(socket);
      });
      const onError = (cause: Error) => {
        signal.removeEventListener('abort', onAbort);
        reject(new UnavailableError(`connect to ${this.host}:${port}`, { cause }));
      };
      socket.once('error', onError);
    });
  }
}
