/** The pass/fail rules of the soak run, pure so a unit test can make each of them fail. */
import type { RssVerdict } from './rss-trend';

/** Fewer RSS samples after warm-up than this and no trend can be told from noise: the run fails. */
export const MIN_RSS_SAMPLES = 6;
/**
 * The trend is judged only over a window this long: berthd's RSS swings by ~35 MiB with a major-GC
 * period of ~90 s on this project's hosts (measured: 95-130 MiB over a 2 min run), so a shorter
 * window sees sawtooth, not trend.
 */
export const MIN_TREND_WINDOW_SECONDS = 120;
/** In any run, RSS above this multiple of the first sample fails (a leak of ~1 MiB per cycle crosses it within a minute; GC swings stay below 1.6x). */
export const RSS_CEILING_FACTOR = 2;

/** berthd's open fds after the run may exceed the baseline by this much (a CRI or metrics connection being torn down). */
export const FD_TOLERANCE = 4;

/** What a soak run observed. */
export interface SoakObservation {
  cycles: number;
  failedCycles: number;
  rss: RssVerdict;
  /** Seconds of the run after warm-up (the window the trend is judged over). */
  trendWindowSeconds: number;
  /** Every RSS sample of the run (KiB), in order. */
  rssKib: readonly number[];
  /** berthd's open fds after the first cycle and after the last one. */
  fdsBaseline: number | undefined;
  fdsEnd: number | undefined;
  /** Pods and containers still listed after the run. */
  listedPods: number;
  listedContainers: number;
  /** The leak probes (RestartableBerthd.leaksWithCgroups): every list empty when clean. */
  leaks: Record<string, string[]>;
}

/** The reasons the run fails; empty when it passes. */
export function soakFailures(o: SoakObservation): string[] {
  const out: string[] = [];
  if (o.cycles === 0) out.push('no cycle ran');
  if (o.failedCycles > 0) out.push(`${o.failedCycles} of ${o.cycles} cycles failed`);
  if (o.rssKib.length < MIN_RSS_SAMPLES) out.push(`only ${o.rssKib.length} RSS samples in the run (need ${MIN_RSS_SAMPLES}); sample more often (--interval-seconds)`);
  else if (Math.max(...o.rssKib) > RSS_CEILING_FACTOR * o.rssKib[0]) out.push(`RSS rose above ${RSS_CEILING_FACTOR}x its first sample: ${Math.round(o.rssKib[0] / 1024)} → ${Math.round(Math.max(...o.rssKib) / 1024)} MiB`);
  if (o.trendWindowSeconds >= MIN_TREND_WINDOW_SECONDS) {
    if (o.rss.samplesUsed < MIN_RSS_SAMPLES) {
      out.push(`only ${o.rss.samplesUsed} RSS samples after warm-up (need ${MIN_RSS_SAMPLES}): cannot tell bounded from growing; sample more often (--interval-seconds)`);
    } else if (o.rss.unbounded) out.push(`RSS grows without bound: ${o.rss.slopeKibPerMin} KiB/min`);
  }
  if (o.fdsBaseline === undefined || o.fdsEnd === undefined) out.push('could not read berthd\'s open fds');
  else if (o.fdsEnd > o.fdsBaseline + FD_TOLERANCE) out.push(`berthd holds ${o.fdsEnd - o.fdsBaseline} more fds than after the first cycle (${o.fdsBaseline} → ${o.fdsEnd}, tolerance ${FD_TOLERANCE})`);
  if (o.listedPods > 0 || o.listedContainers > 0) out.push(`${o.listedPods} pods and ${o.listedContainers} containers still listed`);
  for (const [kind, items] of Object.entries(o.leaks)) if (items.length > 0) out.push(`leaked ${kind}: ${items.slice(0, 5).join(', ')}${items.length > 5 ? ` (+${items.length - 5})` : ''}`);
  return out;
}

/** Warm-up and sample interval for a run of `minutes`: half the run is warm-up (at least 60 s for runs of 2 min or more), with at least 12 samples after it. */
export function soakSchedule(minutes: number, intervalSeconds?: number): { warmupSeconds: number; intervalSeconds: number } {
  const total = minutes * 60;
  const warmupSeconds = total >= 120 ? Math.max(60, total / 2) : total / 2;
  return { warmupSeconds, intervalSeconds: intervalSeconds ?? Math.min(5, (total - warmupSeconds) / 12) };
}
