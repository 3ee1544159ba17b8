/**
 * Gives memory back after bursts of work. V8 keeps the heap it grew (new space at its maximum,
 * old-space pages full of garbage) for as long as berthd then sits idle, because nothing
 * allocates enough to trigger a collection: after the bench's CRI sequence berthd stayed at 87 MiB
 * PSS / 110 MiB RSS for minutes, with 17 MiB of live heap. Every `intervalMs` this looks at RSS;
 * when it has grown `minGrowthBytes` past what it was after the last trim (or at start) and no RPC
 * finished in the last `quietMs`, it runs `reduce` (the addon's reduceMemory: V8's
 * LowMemoryNotification, then malloc_trim; ~55 ms on the main thread). So the pause only happens
 * between requests, and only when there is something to give back. Measured on the bench's CRI
 * sequence: PSS 87 → 52 MiB, RSS 110 → 75 MiB.
 *
 * A burst that ends less than `minGrowthBytes` above a trim made in a pause of earlier work (the
 * baseline is then high: live heap of that work) would keep what it grew for good, since an idle
 * daemon never grows further: 30 pods started and removed after the bench's CRI sequence left
 * RSS 12 MiB above the baseline, anonymous memory 42 MiB instead of 30. So once no RPC at all
 * finished for `settleMs` (the work is over, not a gap between kubelet's polls), a smaller growth
 * (`settleGrowthBytes`) is enough. Busy daemons keep the 16 MiB rule, and an idle one trims once.
 */
import type { Logger } from '../common/logger';

const MiB = 1024 * 1024;

export interface MemoryTrimmerOptions {
  /** Shrinks the heap and returns free memory to the kernel (synchronous). */
  readonly reduce: () => void;
  readonly rssBytes?: () => number;
  readonly now?: () => number;
  readonly logger?: Logger;
  /** How often RSS is looked at (default 10 s). */
  readonly intervalMs?: number;
  /** Time since the last RPC before a trim may run (default 500 ms). */
  readonly quietMs?: number;
  /** RSS growth since the last trim that makes one worth its pause (default 16 MiB). */
  readonly minGrowthBytes?: number;
  /** Time since the last RPC after which the daemon counts as idle (default 5 s). */
  readonly settleMs?: number;
  /** RSS growth since the last trim that an idle daemon gives back (default 4 MiB). */
  readonly settleGrowthBytes?: number;
}

export class MemoryTrimmer {
  private baseline: number;
  private lastActivity = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly rss: () => number;
  private readonly now: () => number;

  constructor(private readonly opts: MemoryTrimmerOptions) {
    this.rss = opts.rssBytes ?? (() => process.memoryUsage.rss());
    this.now = opts.now ?? (() => performance.now());
    this.baseline = this.rss();
  }

  /** Starts the periodic check (never keeps the process alive). */
  start(): void {
    this.timer ??= setInterval(() => this.check(), this.opts.intervalMs ?? 10_000).unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Called after every RPC. */
  noteActivity(): void {
    this.lastActivity = this.now();
  }

  /** One check; true when it trimmed. */
  check(): boolean {
    const before = this.rss();
    const growth = before - this.baseline;
    const quietFor = this.now() - this.lastActivity;
    if (quietFor < (this.opts.quietMs ?? 500)) return false;
    const settled = quietFor >= (this.opts.settleMs ?? 5_000);
    if (growth < (settled ? (this.opts.settleGrowthBytes ?? 4 * MiB) : (this.opts.minGrowthBytes ?? 16 * MiB))) return false;
    const started = this.now();
    this.opts.reduce();
    this.baseline = this.rss();
    this.opts.logger?.debug('memory trimmed', { rssBeforeMiB: mib(before), rssAfterMiB: mib(this.baseline), ms: Math.round(this.now() - started) });
    return true;
  }
}

function mib(bytes: number): number {
  return Math.round((bytes / MiB) * 10) / 10;
}
