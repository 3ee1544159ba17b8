import { expect } from 'chai';
import { InvalidArgumentError } from '../../common/errors';
import { silentLogger } from '../../common/logger';
import type { ImageFsUsage, ImageInfo } from '../../image/image-service';
import type { RegistryCredentials } from '../../image/registry-auth';
import type { CallContext } from '../handlers';
import { imageServiceHandlers, ImageServiceApi } from './image-handlers';
import { rejection } from '../../common/testing/rejection-fixtures';

const BUSYBOX: ImageInfo = {
  id: 'sha256:' + 'a'.repeat(64),
  repoTags: ['docker.io/library/busybox:latest'],
  repoDigests: ['docker.io/library/busybox@sha256:' + 'b'.repeat(64)],
  size: 1234,
  uid: 0,
  pinned: false,
};

class FakeImages implements ImageServiceApi {
  pulls: Array<{ image: string; credentials?: RegistryCredentials }> = [];
  removed: string[] = [];
  async pullImage(image: string, options: { credentials?: RegistryCredentials }): Promise<ImageInfo> {
    this.pulls.push({ image, credentials: options.credentials });
    return BUSYBOX;
  }
  imageStatus(image: string): ImageInfo | undefined {
    return image === 'busybox' ? BUSYBOX : undefined;
  }
  async imageConfigJson(): Promise<string | undefined> {
    return '{"config":{"Cmd":["/bin/sh"]}}';
  }
  listImages(filter?: string): ImageInfo[] {
    return filter && filter !== 'busybox' ? [] : [BUSYBOX, { ...BUSYBOX, id: 'sha256:' + 'c'.repeat(64), uid: undefined, username: 'www-data' }];
  }
  async removeImage(image: string): Promise<void> {
    this.removed.push(image);
  }
  async imageFsInfo(): Promise<ImageFsUsage> {
    return { timestampNs: 1_700_000_000_000_000_000n, mountpoint: '/var/lib/berth/images', usedBytes: 42, inodesUsed: 7 };
  }
}

const call: CallContext = { signal: new AbortController().signal, logger: silentLogger };

describe('cri/image handlers', () => {
  let images: FakeImages;
  let h: ReturnType<typeof imageServiceHandlers>;
  beforeEach(() => {
    images = new FakeImages();
    h = imageServiceHandlers({ images });
  });

  it('PullImage returns the image id and passes AuthConfig as credentials', async () => {
    const res = await h.PullImage!({ image: { image: 'busybox' }, auth: { username: 'u', password: 'p', auth: '', identityToken: '' } }, call);
    expect(res.imageRef).to.equal(BUSYBOX.id);
    expect(images.pulls).to.deep.equal([
      { image: 'busybox', credentials: { username: 'u', password: 'p', auth: undefined, identityToken: undefined, registryToken: undefined } },
    ]);
    await h.PullImage!({ image: { image: 'busybox' }, auth: { username: '' } }, call);
    expect(images.pulls[1]!.credentials).to.equal(undefined);
    // server_address scopes the credentials to that registry (image/image-puller.ts).
    await h.PullImage!({ image: { image: 'busybox' }, auth: { username: 'u', password: 'p', serverAddress: 'https://reg:5000' } }, call);
    expect(images.pulls[2]!.credentials?.serverAddress).to.equal('https://reg:5000');
  });

  it('PullImage without an image is INVALID_ARGUMENT naming the field', async () => {
    const caught = await rejection(h.PullImage!({ image: { image: '' } }, call));
    expect(caught).to.be.instanceOf(InvalidArgumentError);
    expect((caught as Error).message).to.include('image.image');
  });

  it('ImageStatus answers image=null for an absent image and the config when verbose', async () => {
    expect((await h.ImageStatus!({ image: { image: 'nope' } }, call)).image).to.equal(null);
    const res = await h.ImageStatus!({ image: { image: 'busybox' }, verbose: true }, call);
    expect(res.image?.id).to.equal(BUSYBOX.id);
    expect(res.image?.uid).to.deep.equal({ value: 0 });
    expect(JSON.parse(res.info!['info']!).imageSpec.config.Cmd).to.deep.equal(['/bin/sh']);
    const quiet = await h.ImageStatus!({ image: { image: 'busybox' } }, call);
    expect(quiet.info).to.deep.equal({});
  });

  it('ListImages maps uid and username and applies the filter', async () => {
    const all = await h.ListImages!({}, call);
    expect(all.images).to.have.length(2);
    expect(all.images![1]!.uid).to.equal(null);
    expect(all.images![1]!.username).to.equal('www-data');
    expect((await h.ListImages!({ filter: { image: { image: 'other' } } }, call)).images).to.deep.equal([]);
  });

  it('RemoveImage passes the reference through; ImageFsInfo reports the store', async () => {
    await h.RemoveImage!({ image: { image: BUSYBOX.id } }, call);
    expect(images.removed).to.deep.equal([BUSYBOX.id]);
    const fsInfo = await h.ImageFsInfo!({}, call);
    const fsu = fsInfo.imageFilesystems![0]!;
    expect(fsu.fsId?.mountpoint).to.equal('/var/lib/berth/images');
    expect(fsu.usedBytes?.value).to.equal(42);
    expect(fsu.inodesUsed?.value).to.equal(7);
    expect(fsu.timestamp).to.be.greaterThan(1.6e18);
    // writable layers share the image store's filesystem: one fs, same mountpoint (not a split image fs)
    expect(fsInfo.containerFilesystems).to.deep.equal([fsu]);
  });
});
