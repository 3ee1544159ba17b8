import { expect } from 'chai';
import { SingleFlight } from './singleflight';

describe('image/singleflight runShared', () => {
  it('aborts the shared work only when the last caller goes; that caller hears after the work settled', async () => {
    const sf = new SingleFlight<string>();
    const events: string[] = [];
    let workSignal!: AbortSignal;
    const work = (signal: AbortSignal): Promise<string> => {
      workSignal = signal;
      return new Promise((_resolve, reject) =>
        signal.addEventListener('abort', () => setTimeout(() => {
          events.push('work cleaned up');
          reject(signal.reason);
        }, 20)),
      );
    };
    const a = new AbortController();
    const b = new AbortController();
    const pa = sf.runShared('k', a.signal, work).catch(() => events.push('a rejected'));
    const pb = sf.runShared('k', b.signal, work).catch(() => events.push('b rejected'));
    a.abort(new Error('a gone'));
    await pa;
    expect(workSignal.aborted).to.equal(false);
    b.abort(new Error('b gone'));
    await pb;
    expect(workSignal.aborted).to.equal(true);
    expect(events).to.deep.equal(['a rejected', 'work cleaned up', 'b rejected']);
    expect(sf.size).to.equal(0);
  });

  it('a caller without a signal keeps the work alive; a late caller after an abort starts afresh', async () => {
    const sf = new SingleFlight<number>();
    let runs = 0;
    const work = async (signal: AbortSignal): Promise<number> => {
      const n = ++runs;
      await new Promise((r) => setTimeout(r, 30));
      signal.throwIfAborted();
      return n;
    };
    const a = new AbortController();
    const pa = sf.runShared('k', a.signal, work).catch((e: Error) => e.message);
    const pb = sf.runShared('k', undefined, work);
    a.abort(new Error('a gone'));
    expect(await pa).to.equal('a gone');
    expect(await pb).to.equal(1);
    const c = new AbortController();
    const pc = sf.runShared('k', c.signal, work).catch((e: Error) => e.message);
    c.abort(new Error('c gone'));
    const pd = sf.runShared('k', undefined, work);
    expect(await pc).to.equal('c gone');
    expect(await pd).to.equal(3);
    expect(runs).to.equal(3);
  });
});
