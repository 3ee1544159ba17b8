import { expect } from 'chai';
import { MemoryTrimmer } from './memory-trim';

const MiB = 1024 * 1024;

describe('daemon/memory-trim', () => {
  function setup() {
    const state = { rss: 80 * MiB, now: 0, reduced: 0 };
    const trimmer = new MemoryTrimmer({
      reduce: () => {
        state.reduced++;
        state.rss = 60 * MiB;
      },
      rssBytes: () => state.rss,
      now: () => state.now,
      quietMs: 500,
      minGrowthBytes: 16 * MiB,
      settleMs: 5_000,
      settleGrowthBytes: 4 * MiB,
    });
    return { state, trimmer };
  }

  it('trims only when RSS grew enough since the last trim and no RPC finished just now', () => {
    const { state, trimmer } = setup();
    state.now = 10_000;
    trimmer.noteActivity();
    state.now += 1_000;
    state.rss = 90 * MiB; // +10 MiB since start: not worth a pause
    expect(trimmer.check()).to.equal(false);
    state.rss = 100 * MiB; // +20 MiB
    trimmer.noteActivity();
    state.now += 100; // an RPC finished 100 ms ago
    expect(trimmer.check()).to.equal(false);
    state.now += 1000;
    expect(trimmer.check()).to.equal(true);
    expect(state.reduced).to.equal(1);
    // The new baseline is what was left after the trim (60 MiB): 70 MiB is not growth enough.
    state.rss = 70 * MiB;
    expect(trimmer.check()).to.equal(false);
    state.rss = 77 * MiB;
    expect(trimmer.check()).to.equal(true);
    expect(state.reduced).to.equal(2);
  });

  it('gives back a smaller growth once no RPC finished for settleMs, and only once', () => {
    const { state, trimmer } = setup();
    state.now = 10_000;
    state.rss = 100 * MiB;
    expect(trimmer.check()).to.equal(true); // a trim in a pause of earlier work: baseline 60 MiB
    // A burst after it grows RSS by 12 MiB: under 16, so not while RPCs keep coming.
    state.rss = 72 * MiB;
    for (let i = 0; i < 20; i++) {
      trimmer.noteActivity();
      state.now += 1_000;
      expect(trimmer.check()).to.equal(false);
    }
    // The work is over: nothing finished for 5 s.
    state.now += 4_000;
    expect(trimmer.check()).to.equal(true);
    expect(state.reduced).to.equal(2);
    // Idle afterwards: nothing left to give back, no further pauses.
    state.now += 60_000;
    expect(trimmer.check()).to.equal(false);
    // Growth under settleGrowthBytes is not worth a pause even when idle.
    state.rss = 63 * MiB;
    state.now += 60_000;
    expect(trimmer.check()).to.equal(false);
    expect(state.reduced).to.equal(2);
  });

  it('runs its check on a timer that never keeps the process alive, and stops', async () => {
    let reduced = 0;
    let rss = 10 * MiB;
    const trimmer = new MemoryTrimmer({ reduce: () => void reduced++, rssBytes: () => rss, intervalMs: 10, quietMs: 0, minGrowthBytes: 1 });
    rss = 20 * MiB;
    trimmer.start();
    await new Promise((r) => setTimeout(r, 50));
    trimmer.stop();
    const after = reduced;
    expect(after).to.be.greaterThan(0);
    rss = 40 * MiB;
    await new Promise((r) => setTimeout(r, 40));
    expect(reduced).to.equal(after);
  });
});
