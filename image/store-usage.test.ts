import { expect } from 'chai';
import { StoreUsage } from './store-usage';

/** A measure function whose walks the test finishes by hand. */
function manualMeasure() {
  const pending: Array<{ resolve: (u: { bytes: number; inodes: number }) => void; reject: (e: Error) => void }> = [];
  const measure = () => new Promise<{ bytes: number; inodes: number }>((resolve, reject) => pending.push({ resolve, reject }));
  return { measure, pending };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('image/store-usage: ImageFsInfo from the last measurement', () => {
  it('waits only for the first walk; later calls answer at once and a stale sample starts one background walk', async () => {
    let now = 1_000;
    const m = manualMeasure();
    const usage = new StoreUsage({ measure: m.measure, periodMs: 10_000, now: () => now });
    const first = usage.get();
    expect(m.pending).to.have.length(1);
    m.pending[0].resolve({ bytes: 100, inodes: 3 });
    expect(await first).to.deep.equal({ bytes: 100, inodes: 3, atMs: 1_000 });

    now = 5_000; // fresh: no walk
    expect(await usage.get()).to.deep.include({ bytes: 100 });
    expect(m.pending).to.have.length(1);

    now = 12_000; // stale: answers the old sample without waiting, one walk for many callers
    const answers = await Promise.all([usage.get(), usage.get(), usage.get()]);
    expect(answers.map((a) => a.bytes)).to.deep.equal([100, 100, 100]);
    // The walk (a du spawn) starts only after the answers have left, on a later turn.
    expect(m.pending).to.have.length(1);
    await flush();
    expect(m.pending).to.have.length(2);
    m.pending[1].resolve({ bytes: 250, inodes: 5 });
    await flush();
    expect(await usage.get()).to.deep.equal({ bytes: 250, inodes: 5, atMs: 12_000 });
    expect(m.pending).to.have.length(2);
  });

  it('a pull or removal marks the sample stale: the next call refreshes it in the background', async () => {
    const m = manualMeasure();
    const usage = new StoreUsage({ measure: m.measure, periodMs: 60_000, now: () => 0 });
    const first = usage.get();
    m.pending[0].resolve({ bytes: 1, inodes: 1 });
    await first;
    usage.markStale();
    expect((await usage.get()).bytes).to.equal(1);
    await flush();
    expect(m.pending).to.have.length(2);
    m.pending[1].resolve({ bytes: 2, inodes: 2 });
    await flush();
    expect((await usage.get()).bytes).to.equal(2);
    expect(m.pending).to.have.length(2);
  });

  it('a failed first walk rejects and the next call walks again; a failed background walk keeps the last sample and is retried', async () => {
    const errors: unknown[] = [];
    const m = manualMeasure();
    const usage = new StoreUsage({ measure: m.measure, periodMs: 60_000, now: () => 0, onError: (e) => errors.push(e) });
    const first = usage.get();
    m.pending[0].reject(new Error('du failed'));
    let caught: unknown;
    await first.catch((e: unknown) => (caught = e));
    expect(String(caught)).to.contain('du failed');
    const second = usage.get();
    expect(m.pending).to.have.length(2);
    m.pending[1].resolve({ bytes: 7, inodes: 1 });
    expect((await second).bytes).to.equal(7);

    usage.markStale();
    expect((await usage.get()).bytes).to.equal(7);
    await flush();
    m.pending[2].reject(new Error('du failed again'));
    await flush();
    expect(errors).to.have.length(1);
    expect((await usage.get()).bytes).to.equal(7); // still served, and a new walk started
    await flush();
    expect(m.pending).to.have.length(4);
  });
});
