/**
 * Disk usage of a container's writable layer (its overlay upper dir), for ContainerStats and the
 * container fs metrics. The tree belongs to the container, so the walk is built to be hostile-proof:
 * it never follows a symlink (lstat, and descends only into what lstat calls a directory), counts
 * at most `maxEntries` entries and stops after `maxMs` (the result is then marked partial), reads
 * directories as a stream (a directory of millions of names is never listed into memory at once),
 * remembers only inodes with several links (to count hard links once), and awaits every fs call
 * one at a time, so the event loop keeps turning and at most one libuv pool thread is busy.
 * DiskUsageCache shares one walk per directory between callers for a collection period.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

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

/** One walk per directory per period; callers during a walk share it. */
export class DiskUsageCache {
  private readonly entries = new Map<string, { at: number; usage: Promise<DiskUsage> }>();

  constructor(
    private readonly opts: { periodMs?: number; limits?: WalkLimits; now?: () => number; walk?: (dir: string, limits: WalkLimits) => Promise<DiskUsage> } = {},
  ) {}

  /** The usage of `dir`: the last walk when it started less than a period ago, else a new walk. */
  usage(dir: string): Promise<DiskUsage> {
    const now = (this.opts.now ?? Date.now)();
    const period = this.opts.periodMs ?? 10_000;
    for (const [key, e] of this.entries) if (now - e.at >= period) this.entries.delete(key);
    const hit = this.entries.get(dir);
    if (hit) return hit.usage;
    const usage = (this.opts.walk ?? directoryUsage)(dir, this.opts.limits ?? {}).catch(() => ({ bytes: 0, inodes: 0, partial: true }));
    this.entries.set(dir, { at: now, usage });
    return usage;
  }
}

/** The cache ContainerStats and the container metrics share (both read the same upper dirs). */
export const writableLayerUsage = new DiskUsageCache();
