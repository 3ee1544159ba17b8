import { expect } from 'chai';
import { FakeNativeBinding } from '../native/testing/fake-native';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { silentLogger } from '../common/logger';
import { sha256Digest } from './content-store';
import { ImageStorage } from './image-storage';
import { buildTar } from './testing/tarball';
import { tempDirEach } from '../common/testing/temp-dir-fixtures';

/** Stores a one-layer image (uncompressed tar) and returns its id. */
async function storeImage(storage: ImageStorage, tag: string): Promise<string> {
  const layer = await buildTar([{ name: 'hello.txt', type: 'file', content: `hi ${tag}` }]);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [sha256Digest(layer)] } }));
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, config: { digest: sha256Digest(config) }, layers: [] }));
  const rec = await storage.writeImage({
    configBytes: config,
    manifestBytes: manifest,
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', open: async () => Readable.from([layer]) }],
    repoTags: [tag],
    repoDigests: [],
    size: layer.length,
  });
  return rec.id;
}

describe('image/ crash consistency at start', () => {
  let dir: string;
  tempDirEach('berth-imgrec-', (d) => (dir = d));

  const open = async (): Promise<ImageStorage> => {
    const s = new ImageStorage({ dir, native: new FakeNativeBinding({ nodesOnDisk: true }), logger: silentLogger });
    await s.init();
    return s;
  };

  it('removes partial pulls (ingest, unpack temp dirs, record temp files) and keeps complete images', async () => {
    const first = await open();
    const id = await storeImage(first, 'example.com/a:1');
    writeFileSync(path.join(dir, 'blobs', 'ingest', 'sha256-abc-123'), 'half a blob');
    writeFileSync(path.join(dir, 'tmp', 'deadbeef-1234'), 'half a layer');
    const tmpRecord = path.join(dir, 'records', `.${id.slice(7)}.json.tmp-99-1`);
    writeFileSync(tmpRecord, '{"version":1');
    const second = await open();
    expect(readdirSync(path.join(dir, 'blobs', 'ingest'))).to.deep.equal([]);
    expect(readdirSync(path.join(dir, 'tmp'))).to.deep.equal([]);
    expect(existsSync(tmpRecord)).to.equal(false);
    const report = second.recoveryReport();
    expect(report).to.deep.include({ images: 1, droppedIncomplete: [], unreadable: [], tempFilesRemoved: [tmpRecord] });
    expect(second.images.get(id)?.repoTags).to.deep.equal(['example.com/a:1']);
  });

  it('reports an unreadable record with its id, skips it, and collects no layer it might use', async () => {
    const first = await open();
    const good = await storeImage(first, 'example.com/good:1');
    const bad = await storeImage(first, 'example.com/bad:1');
    const badLayer = first.images.get(bad)!.chainIds[0];
    writeFileSync(path.join(dir, 'records', `${bad.slice(7)}.json`), '{"version":1,"id":"sha'); // torn
    const second = await open();
    const report = second.recoveryReport();
    expect(report.unreadable.map((u) => u.id)).to.deep.equal([bad]);
    expect(second.images.list().map((r) => r.id)).to.deep.equal([good]);
    expect(second.layers.get(badLayer)).to.not.equal(undefined); // not garbage-collected
  });

  it('drops a record whose layer is gone (reported as incomplete)', async () => {
    const first = await open();
    const id = await storeImage(first, 'example.com/a:1');
    const chain = first.images.get(id)!.chainIds[0];
    rmSync(path.join(dir, 'layers', chain.slice(7)), { recursive: true, force: true });
    const second = await open();
    expect(second.recoveryReport().droppedIncomplete).to.deep.equal([id]);
    expect(second.images.list()).to.deep.equal([]);
  });
});
