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
