/**
 * Watches pause processes (pidfd through native.watchExit) and kills them on Stop. A pod's exit
 * promise settles when its pause exits, so Stop waits for the real exit (the cgroup empties and
 * the pid is free) instead of sleeping.
 */
import { errnoCode, RuntimeError } from '../common/errors';
import type { ExitWatch } from '../native/binding';
import { PodNativeOps, ProcessControl } from './dependencies';

interface Watched {
  pid: number;
  exited: boolean;
  exit: Promise<void>;
  watch: ExitWatch | undefined;
}

/** Per-pod pause exit tracking. */
export class PauseWatcher {
  private readonly watched = new Map<string, Watched>();

  constructor(
    private readonly native: PodNativeOps,
    private readonly processes: ProcessControl,
    private readonly onExit: (podId: string, pid: number) => void,
    private readonly killTimeoutMs: number,
  ) {}

  /** Starts watching pod `podId`'s pause `pid`; throws when it is already gone. */
  watch(podId: string, pid: number): void {
    let resolve!: () => void;
    const entry: Watched = { pid, exited: false, exit: new Promise<void>((r) => (resolve = r)), watch: undefined };
    try {
      entry.watch = this.native.watchExit(pid, () => {
        entry.exited = true;
        resolve();
        this.onExit(podId, pid);
      });
    } catch (err) {
      throw new RuntimeError(`watch pause ${pid} of pod ${podId}${errnoCode(err) === 'ESRCH' ? ' (it exited right after start)' : ''}`, { cause: err });
    }
    this.watched.set(podId, entry);
  }

  /** True once the watched pause exited (false when not watched). */
  hasExited(podId: string): boolean {
    return this.watched.get(podId)?.exited ?? false;
  }

  /**
   * SIGKILLs pause and waits until it is gone. `expectedStartTime` guards unwatched pids (after a
   * restart) against killing an unrelated process that reused the pid.
   */
  async kill(podId: string, pid: number, expectedStartTime?: string): Promise<void> {
    const entry = this.watched.get(podId);
    if (entry && entry.pid === pid) {
      if (!entry.exited) {
        this.signal(pid);
        await waitOrTimeout(entry.exit, this.killTimeoutMs).catch((err) => {
          throw new RuntimeError(`kill pause ${pid} of pod ${podId}`, { cause: err });
        });
      }
      this.forget(podId);
      return;
    }
    if (!this.processes.isAlive(pid)) return;
    if (expectedStartTime !== undefined && this.processes.startTime(pid) !== expectedStartTime) return;
    this.signal(pid);
    const deadline = Date.now() + this.killTimeoutMs;
    while (this.processes.isAlive(pid)) {
      if (Date.now() > deadline) throw new RuntimeError(`kill pause of pod ${podId}: pid ${pid} still alive after ${this.killTimeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Stops watching a pod. */
  forget(podId: string): void {
    const entry = this.watched.get(podId);
    entry?.watch?.close();
    this.watched.delete(podId);
  }

  /** Stops every watch (shutdown). */
  close(): void {
    for (const podId of [...this.watched.keys()]) this.forget(podId);
  }

  private signal(pid: number): void {
    try {
      this.processes.kill(pid, 'SIGKILL');
    } catch (err) {
      if (errnoCode(err) !== 'ESRCH') throw new RuntimeError(`kill pause ${pid}`, { cause: err });
    }
  }
}

/**
 * Waits for `p` at most `ms`. The timer is deliberately ref'd: the exit watch (pidfd) does not
 * keep the event loop alive, and a Stop waiting for pause must not let the process exit under it.
 */
function waitOrTimeout(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still running after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
