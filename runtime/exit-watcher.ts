/**
 * Watches conmon's exit directory: conmon writes `<exitDir>/<id>` holding the exit code when the
 * container's init process ends. fs.watch gives prompt notice; `scan()` catches anything that
 * happened while berthd was down or an event that was missed.
 */
import { promises as fs, watch, type FSWatcher } from 'node:fs';
import * as path from 'node:path';
import { errnoCode } from '../common/errors';
import type { Logger } from '../common/logger';

export interface ContainerExit {
  id: string;
  exitCode: number;
  /** When the exit file was written, in ns since the epoch. */
  finishedAtNs: number;
}

/** Reads `<exitDir>/<id>`; undefined while it does not exist (or is still empty). */
export async function readExitFile(exitDir: string, id: string): Promise<ContainerExit | undefined> {
  const file = path.join(exitDir, id);
  try {
    const [text, st] = await Promise.all([fs.readFile(file, 'utf8'), fs.stat(file, { bigint: true })]);
    const trimmed = text.trim();
    if (trimmed === '') return undefined;
    const code = Number(trimmed);
    return { id, exitCode: Number.isFinite(code) ? code : -1, finishedAtNs: Number(st.mtimeNs) };
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

/** Calls `onExit` for every exit file that appears in `exitDir` (possibly more than once per id). */
export class ExitWatcher {
  private watcher: FSWatcher | undefined;

  constructor(
    private readonly exitDir: string,
    private readonly onExit: (exit: ContainerExit) => Promise<void> | void,
    private readonly logger: Logger,
  ) {}

  /** Starts watching, then reports the exit files already present. */
  async start(): Promise<void> {
    await fs.mkdir(this.exitDir, { recursive: true });
    this.watcher = watch(this.exitDir, (_event, name) => {
      if (name) void this.check(String(name));
    });
    this.watcher.on('error', (err) => this.logger.warn('exit dir watch failed', { dir: this.exitDir, err: String(err) }));
    await this.scan();
  }

  /** Reports every exit file present now. */
  async scan(): Promise<void> {
    const names = await fs.readdir(this.exitDir).catch(() => [] as string[]);
    await Promise.all(names.map((n) => this.check(n)));
  }

  /** Reports `id`'s exit if its file exists. */
  async check(id: string): Promise<void> {
    if (id.startsWith('.')) return;
    try {
      const exit = await readExitFile(this.exitDir, id);
      if (exit) await this.onExit(exit);
    } catch (err) {
      this.logger.warn('read exit file failed', { container: id, err: String(err) });
    }
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }
}

/** Waiters for container exits: `notify` wakes them; they also re-check on a short poll. */
export class ExitWaiters {
  private readonly waiters = new Map<string, Set<() => void>>();

  /** Wakes everything waiting on `id`. */
  notify(id: string): void {
    for (const w of [...(this.waiters.get(id) ?? [])]) w();
  }

  /**
   * Resolves true once `done()` holds, false after `ms`. `recheck` runs before each wait (e.g. to
   * read the exit file) because fs.watch can coalesce or miss events.
   */
  async waitFor(id: string, ms: number, done: () => boolean, recheck: () => Promise<void>): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (done()) return true;
      await recheck();
      if (done()) return true;
      await new Promise<void>((resolve) => {
        const set = this.waiters.get(id) ?? new Set();
        this.waiters.set(id, set);
        const wake = () => {
          clearTimeout(timer);
          set.delete(wake);
          if (set.size === 0) this.waiters.delete(id);
          resolve();
        };
        const timer = setTimeout(wake, Math.min(100, Math.max(1, deadline - Date.now())));
        set.add(wake);
      });
    }
    return done();
  }
}
