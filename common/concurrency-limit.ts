/** At most `limit` tasks at a time; the rest wait in FIFO order. */
export class ConcurrencyLimit {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`concurrency limit must be a positive integer, got ${limit}`);
  }

  /** Runs `task` once a slot is free; the slot is released when it settles. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await task();
    } finally {
      this.release();
    }
  }

  /**
   * Takes a slot, waiting in line while none is free. With `abort`, a wait that its signal ends
   * (also one ended before the call) leaves the line and rejects with `abort.gone()`.
   */
  acquire(abort?: { signal: AbortSignal; gone: () => Error }): Promise<void> {
    if (abort?.signal.aborted) return Promise.reject(abort.gone());
    if (this.active < this.limit) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const i = this.waiting.indexOf(grant);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(abort!.gone());
      };
      const grant = () => {
        abort?.signal.removeEventListener('abort', onAbort);
        resolve();
      };
      this.waiting.push(grant);
      abort?.signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Gives a slot back: it passes straight to the next waiter (active stays the same), else frees up. */
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }

  /** Slots taken now. */
  get running(): number {
    return this.active;
  }
}
