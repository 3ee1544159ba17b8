/**
 * Watches the CNI config dir and calls `onChange` (debounced) when its files change. The dir may
 * not exist yet (a network addon usually installs it after the node joins): then we poll for it
 * cheaply (one stat per interval) and switch to fs.watch once it appears; if it is removed we go
 * back to polling.
 */
import { FSWatcher, promises as fs, watch } from 'node:fs';
import { Logger } from '../common/logger';

export interface ConfigWatcherOptions {
  dir: string;
  onChange: () => void;
  logger: Logger;
  debounceMs?: number;
  pollMs?: number;
}

/** Debounced watcher of one directory that tolerates the directory's absence. */
export class ConfigDirWatcher {
  private watcher: FSWatcher | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private debounceTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly debounceMs: number;
  private readonly pollMs: number;

  constructor(private readonly opts: ConfigWatcherOptions) {
    this.debounceMs = opts.debounceMs ?? 200;
    this.pollMs = opts.pollMs ?? 2000;
  }

  /** Starts watching (or polling when the dir is missing). */
  start(): void {
    if (!this.tryWatch()) this.startPolling();
  }

  /** Stops everything; no callback fires afterwards. */
  close(): void {
    this.closed = true;
    this.watcher?.close();
    this.watcher = undefined;
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
  }

  private tryWatch(): boolean {
    try {
      this.watcher = watch(this.opts.dir, { persistent: false }, () => this.changed());
      this.watcher.on('error', () => {
        // The dir went away (or inotify broke): fall back to polling until it is back.
        this.watcher?.close();
        this.watcher = undefined;
        this.changed();
        this.startPolling();
      });
      return true;
    } catch {
      return false;
    }
  }

  private startPolling(): void {
    if (this.closed || this.pollTimer) return;
    this.pollTimer = setInterval(() => void this.poll(), this.pollMs);
    this.pollTimer.unref();
  }

  private async poll(): Promise<void> {
    const exists = await fs.stat(this.opts.dir).then((st) => st.isDirectory(), () => false);
    if (this.closed || !exists || this.watcher) return;
    if (this.tryWatch()) {
      clearInterval(this.pollTimer);
      this.pollTimer = undefined;
      this.opts.logger.info('CNI config dir appeared; watching it', { dir: this.opts.dir });
      this.changed();
    }
  }

  /** After the burst of events: if the dir itself is gone, drop the stale watch and poll. */
  private async settle(): Promise<void> {
    const exists = await fs.stat(this.opts.dir).then((st) => st.isDirectory(), () => false);
    if (this.closed) return;
    if (!exists && this.watcher) {
      this.watcher.close();
      this.watcher = undefined;
      this.startPolling();
    }
    this.opts.onChange();
  }

  private changed(): void {
    if (this.closed) return;
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    this.debounceTimer = setTimeout(() => {
      this.debounceTimer = undefined;
      void this.settle();
    }, this.debounceMs);
    this.debounceTimer.unref();
  }
}
