import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { FailedPreconditionError } from '../common/errors';
import { ContentStore, sha256Digest } from './content-store';
import { tempDirEach } from '../common/testing/temp-dir-fixtures';
import { rejection } from '../common/testing/rejection-fixtures';

describe('image/content-store', () => {
  let dir: string;
  let store: ContentStore;
  tempDirEach('berth-cs-', async (d) => {
    dir = d;
    store = new ContentStore(dir);
    await store.init();
  });

  it('stores a verified blob under its digest', async () => {
    const data = Buffer.from('hello world');
    const d = sha256Digest(data);
    let counted = 0;
    await store.ingest(d, data.length, async () => Readable.from([data.subarray(0, 5), data.subarray(5)]), (n) => (counted += n));
    expect(counted).to.equal(data.length);
    expect((await store.readBuffer(d, 100)).toString()).to.equal('hello world');
    expect(await store.list()).to.deep.equal([d]);
  });

  it('refuses wrong content, wrong size and oversize, leaving nothing', async () => {
    const data = Buffer.from('hello world');
    const d = sha256Digest(data);
    const attempts: Array<[Buffer, number, RegExp]> = [
      [Buffer.from('hello WORLD'), 11, /content has digest/],
      [data, 12, /got 11 bytes, expected 12/],
      [data, 5, /more than the expected 5 bytes/],
    ];
    for (const [content, size, why] of attempts) {
      const caught = await rejection(store.ingest(d, size, async () => Readable.from([content])));
      expect(caught).to.be.instanceOf(FailedPreconditionError);
      expect((caught as Error).message).to.match(why);
      expect(await store.has(d)).to.equal(false);
      expect(await fs.readdir(path.join(dir, 'ingest'))).to.deep.equal([]);
    }
  });

  it('shares one write between concurrent ingests of a digest', async () => {
    const data = Buffer.alloc(100_000, 7);
    const d = sha256Digest(data);
    let opens = 0;
    const open = async (): Promise<Readable> => {
      opens++;
      await new Promise((r) => setTimeout(r, 20));
      return Readable.from([data]);
    };
    await Promise.all([store.ingest(d, data.length, open), store.ingest(d, data.length, open), store.ingest(d, data.length, open)]);
    expect(opens).to.equal(1);
    await store.ingest(d, data.length, open);
    expect(opens).to.equal(1);
  });

  it('refuses to read blobs over the limit', async () => {
    const data = Buffer.alloc(1000);
    await store.putBuffer(sha256Digest(data), data);
    const caught = await rejection(store.readBuffer(sha256Digest(data), 999));
    expect(caught).to.be.instanceOf(FailedPreconditionError);
  });
});
