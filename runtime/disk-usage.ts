/**
 * Disk usage of a container's writable layer (its overlay upper dir), for ContainerStats and the
 * container fs metrics. The tree belongs to the container, so the walk is built to be hostile-proof:
 * it never follows a symlink (lstat, and descends only into what lstat calls a directory), counts
 * at most `maxEntries` entries and stops after `maxMs` (the result is then marked partial), reads
 * directories as a stream (a directory of millions of names is never listed into memory at once),
 * remembers only inodes with several links (to count hard links once), and awaits every fs call
 * one at a time, so the event loop keeps turning and at most one libuv pool thread is busy.
 * DiskUsageCache shares one walk per directory between callers for a collection period, runs one
 * walk at a time, and lets stats answer from the last finished walk without waiting for a new one.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ConcurrencyLimit } from '../common/concurrency-limit';

export interface DiskUsage {
  bytes: number;
  inodes: number;
  /** The entry or time bound stopped the walk: the numbers are what was counted so far. */
  partial: boolean;
}

export interface WalkLimits {
  /** Most entries counted (default 1 000 000). */
  maxEntries?: number;
  /** Most time spent (default 2 s). */
  maxMs?: number;
}

/** Bytes (allocated blocks) and inodes under `dir`, without following symlinks; see the file comment. */
export async function directoryUsage(dir: string, limits: WalkLimits = {}): Promise<DiskUsage> {
  const maxEntries = limits.maxEntries ?? 1_000_000;
  const deadline = Date.now() + (limits.maxMs ?? 2000);
  let bytes = 0;
  let inodes = 0;
  let partial = false;
  const linked = new Set<string>();
  const stack = [dir];
  walk: while (stack.length > 0) {
    const d = stack.pop()!;
    let handle;
    try {
      handle = await fs.opendir(d, { bufferSize: 128 });
    } catch {
      continue; // vanished, or not readable
    }
    try {
      for await (const entry of handle) {
        if (inodes >= maxEntries || Date.now() > deadline) {
          partial = true;
          break walk; // leaving the loop closes the directory
        }
        const p = path.join(d, entry.name);
        let st;
        try {
          st = await fs.lstat(p, { bigint: true });
        } catch {
          continue; // vanished while walking
        }
        const isDir = st.isDirectory();
        if (!isDir && st.nlink > 1n) {
          const key = `${st.dev}:${st.ino}`;
          if (linked.has(key)) continue; // a hard link counts once
          linked.add(key);
        }
        inodes++;
        bytes += Number(st.blocks) * 512;
        if (isDir) stack.push(p);
      }
    } catch {
      // the directory went away while being read
    }
  }
  return { bytes, inodes, partial };
}

/** A finished walk and when it finished (ms on the cache's clock). */
export interface DiskUsageSample {
  usage: DiskUsage;
  atMs: number;
}

interface Entry {
  /** The walk running now, if any. */
  walking?: Promise<DiskUsage>;
  startedAt: number;
  last?: DiskUsageSample;
  askedAt: number;
}

/**
 * One walk per directory per period, and at most `concurrency` walks at a time (default 1) over
 * all directories: walks wait in a queue, so a node of 110 containers never runs 110 walks at
 * once. `usage()` waits for a walk when the last one is older than the period; `latest()` never
 * waits: it answers the last finished walk and starts a new one in the background when that is stale.
 */
export class DiskUsageCache {
  private readonly entries = new Map<string, Entry>();
  private readonly walks: ConcurrencyLimit;

  constructor(
    private readonly opts: {
      periodMs?: number;
      limits?: WalkLimits;
      now?: () => number;
      walk?: (dir: string, limits: WalkLimits) => Promise<DiskUsage>;
      concurrency?: number;
    } = {},
  ) {
    this.walks = new ConcurrencyLimit(opts.concurrency ?? 1);
  }

  /** The usage of `dir`: the last walk when it started less than a period ago, else a new walk. */
  usage(dir: string): Promise<DiskUsage> {
    const e = this.touch(dir);
    if (e.walking) return e.walking;
    if (e.last && e.startedAt + this.period > this.now()) return Promise.resolve(e.last.usage);
    return this.startWalk(dir, e);
  }

  /** The last finished walk of `dir` without waiting (undefined before the first one); starts a walk when it is stale. */
  latest(dir: string): DiskUsageSample | undefined {
    const e = this.touch(dir);
    if (!e.walking && !(e.last && e.startedAt + this.period > this.now())) void this.startWalk(dir, e);
    return e.last;
  }

  /** Directories held (for tests of the pruning). */
  get size(): number {
    return this.entries.size;
  }

  private get period(): number {
    return this.opts.periodMs ?? 10_000;
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  /** The entry of `dir` marked as asked for now; forgets directories nobody asked for in 6 periods (removed containers). */
  private touch(dir: string): Entry {
    const now = this.now();
    for (const [key, e] of this.entries) if (!e.walking && now - e.askedAt >= 6 * this.period) this.entries.delete(key);
    let e = this.entries.get(dir);
    if (!e) {
      e = { startedAt: -Infinity, askedAt: now };
      this.entries.set(dir, e);
    }
    e.askedAt = now;
    return e;
  }

  private startWalk(dir: string, e: Entry): Promise<DiskUsage> {
    e.startedAt = this.now();
    const walking = this.walks
      .run(() => (this.opts.walk ?? directoryUsage)(dir, this.opts.limits ?? {}))
      .catch((): DiskUsage => ({ bytes: 0, inodes: 0, partial: true }))
      .then((usage) => {
        e.last = { usage, atMs: this.now() };
        e.walking = undefined;
        return usage;
      });
    e.walking = walking;
    return walking;
  }
}

/** The cache ContainerStats and the container metrics share (both read the same upper dirs). */
export const writableLayerUsage = new DiskUsageCache();
