/** usage_nano_cores: CPU time used between two samples of the same cgroup, per second of wall time. */

interface Sample {
  tNs: number;
  cpuNs: number;
}

/**
 * Keeps the previous CPU sample per key (a container or pod id). The first sample of a key has no
 * rate; neither has one whose counter went backwards (a recreated cgroup) or whose clock did not move.
 */
export class CpuRateTracker {
  private readonly last = new Map<string, Sample>();

  /** Records a sample and returns the rate since the previous one (ns of CPU per s), if any. */
  rate(key: string, tNs: number, cpuNs: number): number | undefined {
    const prev = this.last.get(key);
    this.last.set(key, { tNs, cpuNs });
    if (!prev || tNs <= prev.tNs || cpuNs < prev.cpuNs) return undefined;
    return Math.round(((cpuNs - prev.cpuNs) / (tNs - prev.tNs)) * 1e9);
  }

  /** Forgets every key not in `live`. */
  retain(live: ReadonlySet<string>): void {
    for (const key of this.last.keys()) if (!live.has(key)) this.last.delete(key);
  }

  /** Forgets keys not sampled since `beforeNs` (for keys whose end nobody reports, such as pods). */
  forgetOlderThan(beforeNs: number): void {
    for (const [key, s] of this.last) if (s.tNs < beforeNs) this.last.delete(key);
  }

  /** Number of keys held (for tests of the pruning). */
  get size(): number {
    return this.last.size;
  }
}
