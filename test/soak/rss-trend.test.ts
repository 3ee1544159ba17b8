import { expect } from 'chai';
import { judgeRss, slopeKibPerMinute, type RssSample } from './rss-trend';

const series = (f: (t: number) => number, seconds = 600, every = 10): RssSample[] =>
  Array.from({ length: seconds / every + 1 }, (_, i) => ({ t: i * every, rssKib: Math.round(f(i * every)) }));
const opts = { warmupSeconds: 60, maxSlopeKibPerMin: 256, minGrowthKib: 4096 };

describe('test/soak rss-trend', () => {
  it('measures a linear slope per minute', () => {
    expect(slopeKibPerMinute(series((t) => 100_000 + t * 10))).to.be.closeTo(600, 1e-6);
    expect(slopeKibPerMinute([{ t: 0, rssKib: 5 }])).to.equal(0);
  });

  it('a steady leak is unbounded; a flat sawtooth (GC) and a warm-up ramp are not', () => {
    expect(judgeRss(series((t) => 80_000 + t * 20), opts).unbounded).to.equal(true); // 1.2 MiB/min
    expect(judgeRss(series((t) => 80_000 + ((t / 10) % 6) * 3000), opts).unbounded).to.equal(false);
    expect(judgeRss(series((t) => (t < 60 ? 50_000 + t * 500 : 80_000)), opts).unbounded).to.equal(false);
  });
});
