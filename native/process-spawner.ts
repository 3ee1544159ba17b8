/**
 * Starting helper programs (conmon, CNI plugins) without stalling the event loop.
 *
 * Node's child_process forks berthd: the kernel copies the page tables of the whole heap and the
 * event loop waits for it, 2–6 ms per spawn at berthd's size (more as the heap grows), on every
 * pod and container start. The addon's spawnProcess is glibc's posix_spawn (clone with CLONE_VM |
 * CLONE_VFORK): ~0.1 ms, nothing copied. Its children are reaped by a pidfd watch on the event
 * loop (watchChild), since libuv only reaps the children it started itself. There is no
 * child_process path: the addon is required (berthd checks it at start).
 */
import { closeSync } from 'node:fs';
import * as net from 'node:net';
import { loadNativeBinding, signalName, toNativeError } from './addon';
import type { NativeBinding } from './binding';

/** What child fd i is: /dev/null, a pipe the parent writes ('in'), or a pipe the parent reads ('out'). */
export type ChildStdio = 'ignore' | 'in' | 'out';

export interface SpawnOptions {
  /** The child's whole environment (nothing is inherited). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
  /** setsid(): the child leads a new session and process group (kill(-pid) reaches its children). */
  readonly newSession?: boolean;
  /** Child fds 0, 1, 2, 3, …; fds beyond the list are closed in the child. */
  readonly stdio: readonly ChildStdio[];
}

export interface ChildExit {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface SpawnedChild {
  readonly pid: number;
  /** The parent's end of each pipe, indexed by child fd (undefined for 'ignore'). */
  readonly pipes: ReadonlyArray<net.Socket | undefined>;
  /** Resolves once the child has exited (and been reaped). */
  readonly exited: Promise<ChildExit>;
}

export interface ProcessSpawner {
  /** Starts `file` (a path, or a name searched in PATH) with argv `[file, ...args]`; rejects when it cannot be executed. */
  spawn(file: string, args: readonly string[], opts: SpawnOptions): Promise<SpawnedChild>;
}

function envList(env: SpawnOptions['env']): string[] {
  return Object.entries(env)
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([k, v]) => `${k}=${v}`);
}

/** The ops of the binding a spawner uses. */
export type SpawnNative = Pick<NativeBinding, 'spawnProcess' | 'makePipe' | 'watchChild'>;

/** posix_spawn through the native binding. */
export class NativeProcessSpawner implements ProcessSpawner {
  constructor(private readonly addon: SpawnNative) {}

  async spawn(file: string, args: readonly string[], opts: SpawnOptions): Promise<SpawnedChild> {
    const childFds: number[] = [];
    const parentFds: Array<number | undefined> = [];
    const toClose: number[] = [];
    try {
      for (const kind of opts.stdio) {
        if (kind === 'ignore') {
          childFds.push(-1);
          parentFds.push(undefined);
          continue;
        }
        const [readFd, writeFd] = this.addon.makePipe();
        toClose.push(readFd, writeFd);
        childFds.push(kind === 'in' ? readFd : writeFd);
        parentFds.push(kind === 'in' ? writeFd : readFd);
      }
      const pid = this.addon.spawnProcess(file, [file, ...args], envList(opts.env), opts.cwd ?? '', childFds, opts.newSession ?? false);
      // Registered before anything else can fail, so the child is always reaped.
      const exited = new Promise<ChildExit>((resolve) =>
        this.addon.watchChild(pid, (exitCode, signo) => resolve({ exitCode, signal: signo === null ? null : signalName(signo) })),
      );
      for (const fd of childFds) if (fd >= 0) closeSync(fd);
      const pipes = parentFds.map((fd, i) =>
        fd === undefined ? undefined : new net.Socket({ fd, readable: opts.stdio[i] === 'out', writable: opts.stdio[i] === 'in' }),
      );
      toClose.length = 0; // the sockets own the parent ends now
      return { pid, pipes, exited };
    } catch (error) {
      for (const fd of toClose) closeSync(fd);
      throw toNativeError(error);
    }
  }
}

/** Resolves when `pipe` has ended (or failed), feeding every chunk to `onChunk`. */
export function drainPipe(pipe: NodeJS.ReadableStream, onChunk: (chunk: Buffer) => void): Promise<void> {
  return new Promise((resolve) => {
    pipe.on('data', onChunk);
    pipe.on('end', resolve);
    pipe.on('close', resolve);
    pipe.on('error', () => resolve());
  });
}

let shared: ProcessSpawner | undefined;

/** The spawner over the real binding (throws a NativeError naming the addon file when it is unusable). */
export function defaultProcessSpawner(): ProcessSpawner {
  shared ??= new NativeProcessSpawner(loadNativeBinding());
  return shared;
}
