import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import { Readable } from 'node:stream';
import { TarRecordTooLargeError, unpackLayer, UnsafeLayerError } from './layer-unpack';
import { FakeNativeBinding } from '../native/testing/fake-native';
import { oversizedRecordTar, rawTar } from './testing/tarball';
import { tempDirEach } from '../common/testing/temp-dir-fixtures';
import { rejection } from '../common/testing/rejection-fixtures';

const MiB = 1024 * 1024;
const DIGEST = 'sha256:' + 'ab'.repeat(32);

describe('image/layer-unpack record size limits', () => {
  let root: string;
  tempDirEach('berth-limits-', (d) => (root = d));

  async function unpackRecord(typeflag: 'x' | 'g' | 'L' | 'K', size: number, pulled = { bytes: 0 }): Promise<unknown> {
    try {
      return await unpackLayer(Readable.from(oversizedRecordTar(typeflag, size, pulled)), 'none', root, { native: new FakeNativeBinding({ nodesOnDisk: true }), digest: DIGEST });
    } catch (err) {
      return err;
    }
  }

  it('refuses a 256 MiB PAX record from its header: typed error naming the layer and the size, nothing buffered', async () => {
    const pulled = { bytes: 0 };
    const rssBefore = process.memoryUsage().rss;
    const started = Date.now();
    const err = await unpackRecord('x', 256 * MiB, pulled);
    const ms = Date.now() - started;
    const grew = process.memoryUsage().rss - rssBefore;
    expect(err).to.be.instanceOf(TarRecordTooLargeError);
    expect((err as Error).message).to.contain(DIGEST).and.contain('268435456 bytes').and.contain('PAX extended header');
    expect(pulled.bytes, 'bytes read from the layer').to.be.below(8 * MiB);
    expect(grew, 'rss growth').to.be.below(32 * MiB);
    expect(ms).to.be.below(2000);
  });

  for (const typeflag of ['x', 'g', 'L', 'K'] as const) {
    it(`refuses a 2 MiB '${typeflag}' record (under tar-stream's own 4 MiB limit)`, async () => {
      const err = await unpackRecord(typeflag, 2 * MiB);
      expect(err).to.be.instanceOf(TarRecordTooLargeError);
      expect((err as Error).message).to.contain(DIGEST).and.contain('2097152 bytes');
    });
  }

  it('accepts a PAX record just under the limit', async () => {
    const result = await unpackRecord('x', MiB - 512);
    expect(result).to.not.be.instanceOf(Error);
    expect(await fs.readdir(root)).to.deep.equal(['file']);
  });

  it('refuses an entry with more than 128 xattrs before setting any', async () => {
    const pax: Record<string, string> = {};
    for (let i = 0; i < 5000; i++) pax[`SCHILY.xattr.user.k${i}`] = 'v';
    const native = new FakeNativeBinding({ nodesOnDisk: true });
    const caught = await rejection(unpackLayer(Readable.from([rawTar([{ name: 'f', content: 'x', pax }])]), 'none', root, { native }));
    expect(caught).to.be.instanceOf(UnsafeLayerError);
    expect((caught as Error).message).to.contain('5000 xattrs');
    expect(native.calls).to.deep.equal([]);
  });
});
