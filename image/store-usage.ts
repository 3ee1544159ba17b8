/**
 * The image store's disk usage for ImageFsInfo. kubelet asks every 10 s, and measuring means
 * walking the whole store (du), so the answer is served from the last measurement: a call never
 * waits for a walk once one has finished; a stale measurement (older than the period, or marked
 * stale by a pull or a removal) starts one new walk in the background, shared by every caller.
 * The walk starts on a later turn of the event loop, after the answer has left: starting it means
 * spawning du, and a spawn blocks the loop for a millisecond or more. Only the very first call
 * waits. A failed walk is retried by the next call.
 */

/** Bytes and inodes used, and when they were measured (ms since the epoch). */
export interface StoreUsageSample {
  readonly bytes: number;
  readonly inodes: number;
  readonly atMs: number;
}

export interface StoreUsageOptions {
  /** Measures the store now. */
  readonly measure: () => Promise<{ bytes: number; inodes: number }>;
  /** How long a measurement is fresh (default 30 s). */
  readonly periodMs?: number;
  readonly now?: () => number;
  /** Called when a background walk fails (the last sample keeps being served). */
  readonly onError?: (err: unknown) => void;
}

/** Stale-while-revalidate usage of one store; see the file comment. */
export class StoreUsage {
  private last: StoreUsageSample | undefined;
  private walking: Promise<StoreUsageSample> | undefined;
  private walkScheduled = false;
  private stale = false;

  constructor(private readonly opts: StoreUsageOptions) {}

  /** The last measurement (waiting only when there is none yet); refreshes it in the background when stale. */
  async get(): Promise<StoreUsageSample> {
    const last = this.last;
    if (!last) return this.walk();
    if ((this.stale || this.now() - last.atMs > (this.opts.periodMs ?? 30_000)) && !this.walking && !this.walkScheduled) {
      this.walkScheduled = true;
      setImmediate(() => {
        this.walkScheduled = false;
        this.walk().catch((err: unknown) => this.opts.onError?.(err));
      });
    }
    return last;
  }

  /** The store changed (a pull or a removal): the next call refreshes in the background. */
  markStale(): void {
    this.stale = true;
  }

  private walk(): Promise<StoreUsageSample> {
    if (this.walking) return this.walking;
    this.stale = false;
    const startedAt = this.now();
    const walking = this.opts.measure().then(
      (u) => {
        this.last = { bytes: u.bytes, inodes: u.inodes, atMs: startedAt };
        return this.last;
      },
      (err: unknown) => {
        this.stale = true;
        throw err;
      },
    );
    this.walking = walking;
    const done = () => {
      if (this.walking === walking) this.walking = undefined;
    };
    walking.then(done, done);
    return walking;
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }
}
