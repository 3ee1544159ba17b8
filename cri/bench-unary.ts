/**
 * Latency of a unary call measured sequentially (one in flight), for the bench and for checking
 * the wire layer's overhead (e.g. 1000 Version calls over the CRI socket).
 */

/** Latency summary in milliseconds. */
export interface LatencySummary {
  count: number;
  medianMs: number;
  p90Ms: number;
  p99Ms: number;
  meanMs: number;
  maxMs: number;
}

/** Runs `call` `warmup` times unmeasured, then `count` times, and summarises the latencies. */
export async function measureUnaryLatency(call: () => Promise<unknown>, count: number, warmup = Math.min(100, count)): Promise<LatencySummary> {
  for (let i = 0; i < warmup; i++) await call();
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = process.hrtime.bigint();
    await call();
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return summarize(samples);
}

/** Summary statistics of latency samples (milliseconds). */
export function summarize(samples: number[]): LatencySummary {
  if (samples.length === 0) return { count: 0, medianMs: 0, p90Ms: 0, p99Ms: 0, meanMs: 0, maxMs: 0 };
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return {
    count: sorted.length,
    medianMs: round(median),
    p90Ms: round(at(0.9)),
    p99Ms: round(at(0.99)),
    meanMs: round(sorted.reduce((a, b) => a + b, 0) / sorted.length),
    maxMs: round(sorted[sorted.length - 1]),
  };
}
