import { expect } from 'chai';
import { chmodSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { createLogger } from '../common/logger';
import { sha256Digest } from './content-store';
import { ImageStorage } from './image-storage';
import { FakeNativeBinding } from '../native/testing/fake-native';
import { buildTar } from './testing/tarball';
import { tempDirEach } from '../common/testing/temp-dir-fixtures';

const modeOf = (p: string): string => (statSync(p).mode & 0o7777).toString(8);

describe('image/ store permissions', () => {
  let dir: string;
  tempDirEach('berth-imgperm-', (d) => (dir = d));

  it('creates the store 0700, blobs 0600, layer dirs 0700 with a 0755 diff; tightens an old wide store, logged once', async () => {
    const images = path.join(dir, 'images');
    for (const d of ['', 'blobs', 'blobs/sha256', 'layers', 'l', 'records']) {
      mkdirSync(path.join(images, d), { recursive: true });
      chmodSync(path.join(images, d), 0o755);
    }
    const lines: string[] = [];
    const storage = new ImageStorage({ dir: images, native: new FakeNativeBinding({ nodesOnDisk: true }), logger: createLogger({ sink: (l) => lines.push(l) }) });
    await storage.init();
    try {
      const layer = await buildTar([{ name: 'hello.txt', content: 'hi' }]);
      const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [sha256Digest(layer)] } }));
      const rec = await storage.writeImage({
        configBytes: config,
        manifestBytes: Buffer.from('{"schemaVersion":2}'),
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', open: async () => Readable.from([layer]) }],
        repoTags: ['x:1'],
        repoDigests: [],
        size: layer.length,
      });
      for (const d of ['', 'blobs', 'blobs/sha256', 'blobs/ingest', 'layers', 'l', 'tmp', 'records']) expect(modeOf(path.join(images, d)), d).to.equal('700');
      expect(modeOf(path.join(images, 'blobs', 'sha256', rec.id.slice(7)))).to.equal('600');
      const [layerDir] = readdirSync(path.join(images, 'layers'));
      expect(modeOf(path.join(images, 'layers', layerDir!))).to.equal('700');
      expect(modeOf(path.join(images, 'layers', layerDir!, 'diff'))).to.equal('755');
      const tightened = lines.filter((l) => l.includes('tightened image store permissions'));
      expect(tightened).to.have.length(1);
      expect(tightened[0]).to.include('"from":"755","to":"700"');
    } finally {
      await storage.close();
    }
  });
});
