import { expect } from 'chai';
import { FD_TOLERANCE, MIN_RSS_SAMPLES, MIN_TREND_WINDOW_SECONDS, soakFailures, soakSchedule, type SoakObservation } from './soak-verdict';

const clean: SoakObservation = {
  cycles: 40,
  failedCycles: 0,
  rss: { samplesUsed: 12, slopeKibPerMin: 10, firstThirdMeanKib: 90_000, lastThirdMeanKib: 90_100, unbounded: false },
  trendWindowSeconds: 150,
  rssKib: [85_000, 95_000, 120_000, 100_000, 98_000, 130_000, 99_000],
  fdsBaseline: 30,
  fdsEnd: 31,
  listedPods: 0,
  listedContainers: 0,
  leaks: { mounts: [], cgroups: [], processes: [] },
};

describe('test/soak soak-verdict', () => {
  it('a clean run passes', () => {
    expect(soakFailures(clean)).to.deep.equal([]);
  });

  it('fails on any failed cycle, too few samples, unbounded RSS, an fd leak, a listed pod, or any leak', () => {
    expect(soakFailures({ ...clean, failedCycles: 1 })).to.deep.equal(['1 of 40 cycles failed']);
    expect(soakFailures({ ...clean, cycles: 0 })).to.deep.equal(['no cycle ran']);
    expect(soakFailures({ ...clean, rss: { ...clean.rss, samplesUsed: MIN_RSS_SAMPLES - 1 } })[0]).to.match(/^only 5 RSS samples after warm-up/);
    expect(soakFailures({ ...clean, rss: { ...clean.rss, unbounded: true, slopeKibPerMin: 900 } })).to.deep.equal(['RSS grows without bound: 900 KiB/min']);
    expect(soakFailures({ ...clean, rssKib: clean.rssKib.slice(0, MIN_RSS_SAMPLES - 1) })[0]).to.match(/^only 5 RSS samples in the run/);
    expect(soakFailures({ ...clean, rssKib: [...clean.rssKib, 171_000] })).to.deep.equal(['RSS rose above 2x its first sample: 83 → 167 MiB']);
    expect(soakFailures({ ...clean, fdsEnd: 30 + FD_TOLERANCE })).to.deep.equal([]);
    expect(soakFailures({ ...clean, fdsEnd: 30 + FD_TOLERANCE + 1 })[0]).to.match(/more fds than after the first cycle/);
    expect(soakFailures({ ...clean, fdsEnd: undefined })).to.deep.equal(["could not read berthd's open fds"]);
    expect(soakFailures({ ...clean, listedPods: 1 })).to.deep.equal(['1 pods and 0 containers still listed']);
    expect(soakFailures({ ...clean, leaks: { ...clean.leaks, mounts: ['/run/x/shm'] } })).to.deep.equal(['leaked mounts: /run/x/shm']);
  });

  it('a window shorter than a GC period judges no trend (sawtooth), only the ceiling and the leak rules', () => {
    const short = { ...clean, trendWindowSeconds: MIN_TREND_WINDOW_SECONDS - 1 };
    expect(soakFailures({ ...short, rss: { ...clean.rss, unbounded: true, slopeKibPerMin: 26_931 } })).to.deep.equal([]);
    expect(soakFailures({ ...short, rss: { ...clean.rss, samplesUsed: 0 } })).to.deep.equal([]);
    expect(soakFailures({ ...short, rssKib: [...clean.rssKib, 171_000] })).to.have.length(1);
  });

  it('a one-minute run gets enough samples after its warm-up; long runs keep a 60 s warm-up and 5 s samples', () => {
    const one = soakSchedule(1);
    expect((60 - one.warmupSeconds) / one.intervalSeconds).to.be.at.least(MIN_RSS_SAMPLES * 2);
    expect(soakSchedule(5)).to.deep.equal({ warmupSeconds: 150, intervalSeconds: 5 });
    expect(soakSchedule(2)).to.deep.equal({ warmupSeconds: 60, intervalSeconds: 5 });
    expect(soakSchedule(1, 1)).to.deep.equal({ warmupSeconds: 30, intervalSeconds: 1 });
  });
});
