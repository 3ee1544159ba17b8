import { expect } from 'chai';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ConcurrencyLimit } from './concurrency-limit';
import { readSmallFile } from './read-small-file';

describe('common/ConcurrencyLimit', () => {
  it('runs at most `limit` tasks at once, in FIFO order, and frees the slot on a throw', async () => {
    const limit = new ConcurrencyLimit(2);
    let peak = 0;
    const order: number[] = [];
    const task = (i: number) => async () => {
      peak = Math.max(peak, limit.running);
      await new Promise((r) => setTimeout(r, 1));
      order.push(i);
      if (i === 1) throw new Error('boom');
      return i;
    };
    const results = await Promise.allSettled([0, 1, 2, 3, 4].map((i) => limit.run(task(i))));
    expect(peak).to.equal(2);
    expect(results.map((r) => r.status)).to.deep.equal(['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
    expect(limit.running).to.equal(0);
    expect(() => new ConcurrencyLimit(0)).to.throw(RangeError);
  });
});

describe('common/ConcurrencyLimit.acquire with an abort signal', () => {
  it('a waiter whose signal aborts leaves the line with its error; the slot goes to the next waiter; an aborted signal is refused at once', async () => {
    const limit = new ConcurrencyLimit(1);
    await limit.acquire();
    const leaving = new AbortController();
    const gone = () => new Error('client went away');
    const first = limit.acquire({ signal: leaving.signal, gone });
    let secondGot = false;
    const second = limit.acquire({ signal: new AbortController().signal, gone }).then(() => (secondGot = true));
    leaving.abort();
    let caught: unknown;
    await first.catch((e: unknown) => (caught = e));
    expect(String(caught)).to.contain('client went away');
    expect(secondGot).to.equal(false);
    limit.release();
    await second;
    expect(secondGot).to.equal(true);
    expect(limit.running).to.equal(1);
    limit.release();
    expect(limit.running).to.equal(0);
    let refused: unknown;
    await limit.acquire({ signal: AbortSignal.abort(), gone }).catch((e: unknown) => (refused = e));
    expect(String(refused)).to.contain('client went away');
    expect(limit.running).to.equal(0);
  });
});

describe('common/readSmallFile', () => {
  it('reads a file across several chunks; undefined for a missing file', async () => {
    const dir = fs.mkdtempSync(path.join(tmpdir(), 'berth-rsf-'));
    try {
      const text = 'x'.repeat(20_000) + '\nend\n';
      fs.writeFileSync(path.join(dir, 'f'), text);
      expect(await readSmallFile(path.join(dir, 'f'))).to.equal(text);
      expect(await readSmallFile(path.join(dir, 'nope'))).to.equal(undefined);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
