/** Concurrent calls for the same key share one in-flight promise (like Go's singleflight). */
export class SingleFlight<T> {
  private readonly inflight = new Map<string, Promise<T>>();

  /** Runs `fn` unless a call for `key` is in flight, in which case its result is shared. */
  run(key: string, fn: () => Promise<T>): Promise<T> {
    const existing = this.inflight.get(key);
    if (existing) return existing;
    const p = fn().finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  /** Number of keys in flight (for tests and metrics). */
  get size(): number {
    return this.inflight.size;
  }
}
