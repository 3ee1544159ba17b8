/**
 * One sample per key (a container's or pod's cgroup) per collection period. kubelet asks for every
 * pod at once (ListPodSandboxStats, ListContainerStats) and then maybe for single ones: the first
 * call of a period reads, every later call in the same period (and every call while the read is
 * in flight) gets the same sample. Reads go through a concurrency limit so that a List of 110 pods
 * keeps a bounded number of cgroups in flight on the libuv pool.
 */
import { ConcurrencyLimit } from '../common/concurrency-limit';

interface Entry<T> {
  value: Promise<T>;
  /** When the read finished (ns on the caller's clock); undefined while in flight. */
  doneAtNs?: number;
}

export class SampleCache<T> {
  private readonly entries = new Map<string, Entry<T>>();

  constructor(
    private readonly periodNs: number,
    private readonly nowNs: () => number,
    private readonly limit: ConcurrencyLimit,
  ) {}

  /** The sample of `key` taken in this period, else a new one from `take(nowNs)` (run under the limit). */
  get(key: string, take: (nowNs: number) => Promise<T>): Promise<T> {
    const hit = this.entries.get(key);
    if (hit && this.fresh(hit)) return hit.value;
    const entry: Entry<T> = { value: Promise.resolve(undefined as T) };
    entry.value = this.limit.run(() => take(this.nowNs())).then(
      (v) => {
        entry.doneAtNs = this.nowNs();
        return v;
      },
      (err: unknown) => {
        if (this.entries.get(key) === entry) this.entries.delete(key); // a failure is not cached
        throw err;
      },
    );
    this.entries.set(key, entry);
    return entry.value;
  }

  /** Forgets samples older than a period (they would not be served again). */
  prune(): void {
    for (const [key, e] of this.entries) if (!this.fresh(e)) this.entries.delete(key);
  }

  /** Forgets every key not in `live` (removed containers). */
  retain(live: ReadonlySet<string>): void {
    for (const key of this.entries.keys()) if (!live.has(key)) this.entries.delete(key);
  }

  /** Keys held (for tests). */
  get size(): number {
    return this.entries.size;
  }

  private fresh(e: Entry<T>): boolean {
    if (e.doneAtNs === undefined) return true;
    const age = this.nowNs() - e.doneAtNs;
    return age >= 0 && age < this.periodNs;
  }
}
