import { expect } from 'chai';
import { FakeNativeBinding } from '../../native/testing/fake-native';
import { silentLogger } from '../../common/logger';
import { tempDirEach } from '../../common/testing/temp-dir-fixtures';
import { ImageService } from '../../image/image-service';
import { EMPTY_REGISTRIES_CONFIG } from '../../image/registries-config';
import { storeTestImage } from '../../image/testing/stored-image';
import { runtime } from '../api/generated/cri';
import type { CallContext } from '../handlers';
import { encodingOf } from '../pre-encoded';
import { imageServiceHandlers } from './image-handlers';

const call: CallContext = { signal: new AbortController().signal, logger: silentLogger };

describe('cri/image ImageStatus answers', () => {
  let svc: ImageService;
  tempDirEach('berth-imgstatus-cri-', async (dir) => {
    svc = await ImageService.create({ dir, registries: EMPTY_REGISTRIES_CONFIG, native: new FakeNativeBinding({ nodesOnDisk: true }), logger: silentLogger });
  });
  afterEach(() => svc.close());

  it('ImageStatus answers repeat calls with one message carrying its exact encoding, and a new one after a change', async () => {
    const h = imageServiceHandlers({ images: svc });
    await storeTestImage(svc, ['example.com/app:1', 'example.com/app:2'], '7');
    const first = await h.ImageStatus!({ image: { image: 'example.com/app:1' } }, call);
    expect(await h.ImageStatus!({ image: { image: 'example.com/app:1' } }, call)).to.equal(first);
    const bytes = encodingOf(first)!;
    expect(Buffer.from(bytes).equals(Buffer.from(runtime.v1.ImageStatusResponse.encode(first).finish()))).to.equal(true);
    expect(runtime.v1.ImageStatusResponse.decode(bytes).image!.uid!.value).to.equal(7);
    await svc.removeImage('example.com/app:2');
    const after = await h.ImageStatus!({ image: { image: 'example.com/app:1' } }, call);
    expect(runtime.v1.ImageStatusResponse.decode(encodingOf(after)!).image!.repoTags).to.deep.equal(['example.com/app:1']);
    const verbose = await h.ImageStatus!({ image: { image: 'example.com/app:1' }, verbose: true }, call);
    expect(JSON.parse(verbose.info!.info!).imageSpec.config.User).to.equal('7');
    expect(encodingOf(verbose)).to.equal(undefined);
  });

  it('PullImage has the pulled image\'s answer encoded once its reply has left, so the ImageStatus that follows encodes nothing', async () => {
    const h = imageServiceHandlers({ images: svc });
    await storeTestImage(svc, ['example.com/app:1'], '7');
    // The image is in the store: a pull of it resolves to the stored record, as a registry pull would.
    svc.pullImage = async (image: string) => svc.imageStatus(image)!;
    const original = runtime.v1.ImageStatusResponse.encode;
    let encodes = 0;
    runtime.v1.ImageStatusResponse.encode = ((...args: Parameters<typeof original>) => (encodes++, original.apply(runtime.v1.ImageStatusResponse, args))) as typeof original;
    try {
      await h.PullImage!({ image: { image: 'example.com/app:1' } }, call);
      expect(encodes, 'not before the reply').to.equal(0);
      await new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
      expect(encodes).to.equal(1);
      const res = await h.ImageStatus!({ image: { image: 'example.com/app:1' } }, call);
      expect(encodes).to.equal(1);
      expect(runtime.v1.ImageStatusResponse.decode(encodingOf(res)!).image!.repoTags).to.deep.equal(['example.com/app:1']);
    } finally {
      runtime.v1.ImageStatusResponse.encode = original;
    }
  });
});
