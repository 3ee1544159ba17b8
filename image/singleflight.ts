/** Concurrent calls for the same key share one in-flight promise (like Go's singleflight). */
export class SingleFlight<T> {
  private readonly inflight = new Map<string, Promise<T>>();
  private readonly shared = new Map<string, SharedFlight<T>>();

  /** Runs `fn` unless a call for `key` is in flight, in which case its result is shared. */
  run(key: string, fn: () => Promise<T>): Promise<T> {
    const existing = this.inflight.get(key);
    if (existing) return existing;
    const p = fn().finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  /**
   * Like run, for cancellable work: `fn` gets a signal that aborts only when every caller that
   * joined has gone (its `signal` aborted; a caller without one never goes). A caller that goes
   * is rejected with its signal's reason at once, except the last one, which first waits for the
   * aborted work to settle (so its cleanup is done when the caller hears of the abort). A caller
   * arriving while aborted work winds down waits for it and starts afresh.
   */
  async runShared(key: string, signal: AbortSignal | undefined, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    for (;;) {
      if (signal?.aborted) throw signal.reason;
      const existing = this.shared.get(key);
      if (existing && existing.controller.signal.aborted) {
        await existing.settled;
        continue;
      }
      const flight = existing ?? this.startShared(key, fn);
      return this.joinShared(flight, signal);
    }
  }

  private startShared(key: string, fn: (signal: AbortSignal) => Promise<T>): SharedFlight<T> {
    const controller = new AbortController();
    const promise = Promise.resolve()
      .then(() => fn(controller.signal))
      .finally(() => {
        if (this.shared.get(key) === flight) this.shared.delete(key);
      });
    const flight: SharedFlight<T> = { controller, promise, settled: promise.then(() => undefined, () => undefined), live: 0 };
    this.shared.set(key, flight);
    return flight;
  }

  private joinShared(flight: SharedFlight<T>, signal: AbortSignal | undefined): Promise<T> {
    flight.live++;
    if (!signal) return flight.promise;
    return new Promise<T>((resolve, reject) => {
      let gone = false;
      const onAbort = (): void => {
        gone = true;
        if (--flight.live > 0) {
          reject(signal.reason);
          return;
        }
        flight.controller.abort(signal.reason);
        void flight.settled.then(() => reject(signal.reason));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      flight.promise.then(
        (v) => {
          signal.removeEventListener('abort', onAbort);
          if (!gone) resolve(v);
        },
        (err: unknown) => {
          signal.removeEventListener('abort', onAbort);
          if (!gone) reject(err);
        },
      );
    });
  }

  /** Number of keys in flight (for tests and metrics). */
  get size(): number {
    return this.inflight.size + this.shared.size;
  }
}

interface SharedFlight<T> {
  readonly controller: AbortController;
  readonly promise: Promise<T>;
  /** Resolves when `promise` has settled either way. */
  readonly settled: Promise<void>;
  /** Callers still waiting (a caller without a signal stays to the end). */
  live: number;
}
