import { expect } from 'chai';
import { FakeNativeBinding } from '../native/testing/fake-native';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { errorKindOf } from '../common/errors';
import { silentLogger } from '../common/logger';
import { sha256Digest } from './content-store';
import { ImageService } from './image-service';
import { ImageUsers } from './image-users';
import { EMPTY_REGISTRIES_CONFIG } from './registries-config';
import { buildTar } from './testing/tarball';
import { rejection } from '../common/testing/rejection-fixtures';

describe('image/ImageUsers', () => {
  it('lists users sorted, forgets them one by one, and names at most five in its refusal', () => {
    const u = new ImageUsers();
    for (const c of ['c7', 'c3', 'c1', 'c2', 'c4', 'c5', 'c6']) u.add('sha256:x', c);
    u.add('sha256:x', 'c1');
    expect(u.usersOf('sha256:x')).to.deep.equal(['c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7']);
    expect(() => u.assertUnused('sha256:x', '"x:1"')).to.throw(/image "x:1" is in use by an image volume of container\(s\) c1, c2, c3, c4, c5 and 2 more/);
    for (const c of ['c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'unknown']) u.remove('sha256:x', c);
    u.remove('sha256:other', 'c1');
    expect(u.usersOf('sha256:x')).to.deep.equal([]);
    expect(() => u.assertUnused('sha256:x', 'x')).to.not.throw();
  });
});

describe('image/ImageService.removeImage with image volume users', () => {
  let dir: string;
  let svc: ImageService;
  let id: string;
  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'berth-imgusers-'));
    svc = await ImageService.create({ dir, registries: EMPTY_REGISTRIES_CONFIG, native: new FakeNativeBinding({ nodesOnDisk: true }), logger: silentLogger });
    const layer = await buildTar([{ name: 'hello.txt', type: 'file', content: 'hi' }]);
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [sha256Digest(layer)] } }));
    const rec = await svc.storage.writeImage({
      configBytes: config,
      manifestBytes: Buffer.from(JSON.stringify({ schemaVersion: 2, config: { digest: sha256Digest(config) }, layers: [] })),
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', open: async () => Readable.from([layer]) }],
      repoTags: ['example.com/data:1', 'example.com/data:2'],
      repoDigests: [],
      size: layer.length,
    });
    id = rec.id;
  });
  afterEach(async () => {
    await svc.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses FailedPrecondition naming the container while a volume uses the image, and removes it once released', async () => {
    svc.addImageUser(id, 'ctr-a');
    const byId = await rejection(svc.removeImage(id));
    expect(errorKindOf(byId)).to.equal('FailedPrecondition');
    expect(byId.message).to.contain('in use by an image volume of container(s) ctr-a');
    // Untagging one of two tags leaves the image (and the volume) alone; the last tag is the whole image.
    await svc.removeImage('example.com/data:2');
    const byLastTag = await rejection(svc.removeImage('example.com/data:1'));
    expect(errorKindOf(byLastTag)).to.equal('FailedPrecondition');
    expect(byLastTag.message).to.contain('ctr-a');
    expect(svc.listImages().map((i) => i.repoTags)).to.deep.equal([['example.com/data:1']]);
    svc.removeImageUser(id, 'ctr-a');
    await svc.removeImage('example.com/data:1');
    expect(svc.listImages()).to.deep.equal([]);
  });

  it('checks users when the record is about to go, not when the call arrives: a volume registered meanwhile wins', async () => {
    const removal = svc.removeImage(id);
    svc.addImageUser(id, 'ctr-late');
    const err = await rejection(removal);
    expect(errorKindOf(err)).to.equal('FailedPrecondition');
    expect(err.message).to.contain('ctr-late');
    expect(await svc.resolveImage(id), 'a refused removal leaves the image usable').to.not.equal(undefined);
  });

  it('hands an image whose removal has begun to no container', async () => {
    const removal = svc.removeImage(id);
    // Let the removal take the store lock and start deleting.
    let seen: unknown = 'not asked';
    for (let i = 0; i < 50 && seen === 'not asked'; i++) {
      await new Promise((r) => setImmediate(r));
      if (svc.listImages().length === 1 && (await svc.resolveImage(id)) === undefined) seen = undefined;
    }
    await removal;
    expect(seen).to.equal(undefined);
    expect(await svc.resolveImage(id)).to.equal(undefined);
  });
});
