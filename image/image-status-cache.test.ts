import { expect } from 'chai';
import { FakeNativeBinding } from '../native/testing/fake-native';
import { silentLogger } from '../common/logger';
import { tempDirEach } from '../common/testing/temp-dir-fixtures';
import { ImageService } from './image-service';
import { EMPTY_REGISTRIES_CONFIG } from './registries-config';
import { storeTestImage } from './testing/stored-image';

describe('image/ImageService status: one shared answer per image state, never stale', () => {
  let svc: ImageService;

  tempDirEach('berth-imgstatus-', async (dir) => {
    svc = await ImageService.create({ dir, registries: EMPTY_REGISTRIES_CONFIG, native: new FakeNativeBinding({ nodesOnDisk: true }), logger: silentLogger });
  });
  afterEach(() => svc.close());

  it('hands out one frozen ImageInfo per record; untag, pin, a moved tag and removal are in the next call', async () => {
    const id = await storeTestImage(svc, ['example.com/app:1', 'example.com/app:2'], '1000');
    const first = svc.imageStatus('example.com/app:1')!;
    expect(svc.imageStatus('example.com/app:1')).to.equal(first);
    expect(svc.imageStatus(id)).to.equal(first);
    expect(Object.isFrozen(first) && Object.isFrozen(first.repoTags)).to.equal(true);
    expect(first).to.include({ id, uid: 1000, pinned: false });

    await svc.removeImage('example.com/app:2');
    expect(svc.imageStatus('example.com/app:1')!.repoTags).to.deep.equal(['example.com/app:1']);
    expect(svc.imageStatus('example.com/app:2')).to.equal(undefined);
    await svc.setPinned(id, true);
    expect(svc.imageStatus('example.com/app:1')!.pinned).to.equal(true);

    const other = await storeTestImage(svc, ['example.com/app:1'], 'www-data', 'b.txt');
    expect(svc.imageStatus('example.com/app:1')).to.include({ id: other, username: 'www-data' });
    expect(svc.imageStatus(id)!.repoTags).to.deep.equal([]);
    await svc.removeImage(other);
    expect(svc.imageStatus('example.com/app:1')).to.equal(undefined);
    expect(first.repoTags, 'an answer already given is not changed').to.deep.equal(['example.com/app:1', 'example.com/app:2']);
  });

  it('resolves short names through the search registries of the moment', async () => {
    const id = await storeTestImage(svc, ['quay.io/team/tool:latest'], '0');
    expect(svc.imageStatus('team/tool')).to.equal(undefined); // docker.io/team/tool
    svc.setRegistriesConfig({ ...EMPTY_REGISTRIES_CONFIG, unqualifiedSearchRegistries: ['quay.io'] });
    expect(svc.imageStatus('team/tool')!.id).to.equal(id);
    svc.setRegistriesConfig(EMPTY_REGISTRIES_CONFIG);
    expect(svc.imageStatus('team/tool')).to.equal(undefined);
  });
});
