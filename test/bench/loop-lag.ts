/**
 * berthd's event-loop delay over a stretch of time, from its /metrics: prom-client's default
 * metrics (daemon/metrics.ts, prefix `berth_`) keep a perf_hooks event-loop delay histogram (10 ms
 * resolution) and RESET it on every scrape, so a scrape at the start of a window and one at its
 * end give the percentiles of exactly that window (nothing else scrapes the bench's berthd).
 */

/** Event-loop delay percentiles (ms). */
export interface LoopLag {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** The first sample of gauge `name` in Prometheus exposition text. */
export function gaugeValue(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+|NaN)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

/** The event-loop delay gauges of a scrape (undefined when the daemon does not export them). */
export function parseLoopLag(text: string, prefix = 'berth_'): LoopLag | undefined {
  const get = (q: string) => gaugeValue(text, `${prefix}nodejs_eventloop_lag_${q}_seconds`);
  const [p50, p99, max] = [get('p50'), get('p99'), get('max')];
  if (p50 === undefined || p99 === undefined || max === undefined) return undefined;
  return { p50Ms: p50 * 1000, p99Ms: p99 * 1000, maxMs: max * 1000 };
}

/** Scrapes berthd's /metrics: the delay since the previous scrape (and the histogram starts over). */
export async function scrapeLoopLag(metricsAddress: string | undefined): Promise<LoopLag | undefined> {
  if (!metricsAddress) return undefined;
  const res = await fetch(`http://${metricsAddress}/metrics`);
  if (!res.ok) throw new Error(`scrape http://${metricsAddress}/metrics: HTTP ${res.status}`);
  return parseLoopLag(await res.text());
}
