/** RSS sampling and the growth verdict of the soak run. Pure except `readRssKib`. */
import { kibField, readProcStatusSync } from '../../common/proc-stat';

/** One RSS sample. */
export interface RssSample {
  /** Seconds since the soak started. */
  t: number;
  rssKib: number;
}

/** VmRSS of `pid` in KiB (undefined when the process is gone). */
export function readRssKib(pid: number): number | undefined {
  const status = readProcStatusSync(pid);
  return status && kibField(status, 'VmRSS');
}

/** Least-squares slope of rss over time, in KiB per minute. */
export function slopeKibPerMinute(samples: readonly RssSample[]): number {
  const n = samples.length;
  if (n < 2) return 0;
  const mt = samples.reduce((a, s) => a + s.t, 0) / n;
  const mr = samples.reduce((a, s) => a + s.rssKib, 0) / n;
  let num = 0;
  let den = 0;
  for (const s of samples) {
    num += (s.t - mt) * (s.rssKib - mr);
    den += (s.t - mt) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 60;
}

/** The verdict over the samples after warm-up. */
export interface RssVerdict {
  samplesUsed: number;
  slopeKibPerMin: number;
  firstThirdMeanKib: number;
  lastThirdMeanKib: number;
  /** True when RSS grows without bound: the slope exceeds the limit AND the last third sits clearly above the first. */
  unbounded: boolean;
}

/**
 * Judges growth after `warmupSeconds`: a steady climb (slope above `maxSlopeKibPerMin`) that is
 * also visible as a step between the first and last thirds (more than `minGrowthKib`) fails;
 * GC sawtooth alone does not.
 */
export function judgeRss(samples: readonly RssSample[], opts: { warmupSeconds: number; maxSlopeKibPerMin: number; minGrowthKib: number }): RssVerdict {
  const used = samples.filter((s) => s.t >= opts.warmupSeconds);
  const third = Math.max(1, Math.floor(used.length / 3));
  const mean = (xs: readonly RssSample[]) => (xs.length === 0 ? 0 : xs.reduce((a, s) => a + s.rssKib, 0) / xs.length);
  const first = mean(used.slice(0, third));
  const last = mean(used.slice(-third));
  const slope = slopeKibPerMinute(used);
  return {
    samplesUsed: used.length,
    slopeKibPerMin: Math.round(slope),
    firstThirdMeanKib: Math.round(first),
    lastThirdMeanKib: Math.round(last),
    unbounded: used.length >= 6 && slope > opts.maxSlopeKibPerMin && last - first > opts.minGrowthKib,
  };
}
