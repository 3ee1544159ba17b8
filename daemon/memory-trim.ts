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
 */
import type { Logger } from '../common/logger';

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
    if (before - this.baseline < (this.opts.minGrowthBytes ?? 16 * 1024 * 1024)) return false;
    if (this.now() - this.lastActivity < (this.opts.quietMs ?? 500)) return false;
    const started = this.now();
    this.opts.reduce();
    this.baseline = this.rss();
    this.opts.logger?.debug('memory trimmed', { rssBeforeMiB: mib(before), rssAfterMiB: mib(this.baseline), ms: Math.round(this.now() - started) });
    return true;
  }
}

function mib(bytes: number): number {
  return Math.round((bytes / 1048576) * 10) / 10;
}
