import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { ContainerManager } from './container-manager';
import { reportedImageName } from './container-record';
import type { ContainerConfigInput } from './spec/inputs';
import { FakeImages } from './testing/fake-images';
import { fakeManagerOptions, managerFakes, shContainerConfig, type ManagerFakes } from './testing/container-manager-fixtures';
import { tempDirEach } from '../common/testing/temp-dir-fixtures';

describe('runtime container image fields (what status reports as image / image_ref / image_id)', () => {
  let dir: string;
  let manager: ContainerManager;
  let images: FakeImages;

  const IMAGE = { id: 'sha256:img', repoTags: ['docker.io/library/busybox:1.36'], repoDigests: ['docker.io/library/busybox@sha256:dig'], config: { Cmd: ['sh'], StopSignal: 'SIGQUIT' }, lowerDirs: ['/l/1'] };
  // kubelet sends the image id as config.image.image and the name from the pod spec as user_specified_image
  const config = (patch: Partial<ContainerConfigInput> = {}): ContainerConfigInput => shContainerConfig({ image: 'sha256:img', ...patch });
  let fakes: ManagerFakes;

  const open = (): Promise<ContainerManager> => ContainerManager.open(fakeManagerOptions(dir, fakes));

  tempDirEach('berth-imgf-', async (d) => {
    dir = d;
    fakes = managerFakes(dir);
    ({ images } = fakes);
    images.images.clear();
    images.images.set('sha256:img', IMAGE);
    manager = await open();
  });
  afterEach(() => manager.close());

  it('reports the user-specified image as the name, the repo digest as ref and the id as id', async () => {
    const id = await manager.createContainer('pod1', config({ userSpecifiedImage: 'busybox:1.36' }));
    const { status } = await manager.containerStatus(id, false);
    expect(status.image).to.include({ name: 'busybox:1.36', ref: 'docker.io/library/busybox@sha256:dig', id: 'sha256:img' });
    expect(manager.listContainers()[0].image.name).to.equal('busybox:1.36');
  });

  it('without a user-specified image, reports the first repo tag (not the id kubelet sent)', async () => {
    const id = await manager.createContainer('pod1', config());
    expect((await manager.containerStatus(id, false)).status.image).to.include({ name: 'docker.io/library/busybox:1.36', id: 'sha256:img' });
  });

  it('an untagged image reports the request; an undigested one the id as ref', async () => {
    images.images.set('sha256:bare', { ...IMAGE, id: 'sha256:bare', repoTags: [], repoDigests: [] });
    const id = await manager.createContainer('pod1', config({ image: 'sha256:bare' }));
    expect((await manager.containerStatus(id, false)).status.image).to.deep.equal({ requested: 'sha256:bare', name: 'sha256:bare', ref: 'sha256:bare', id: 'sha256:bare' });
  });

  it('the stop signal comes from the config, else the image', async () => {
    const fromImage = await manager.createContainer('pod1', config());
    const fromConfig = await manager.createContainer('pod1', config({ name: 'b', stopSignal: 'SIGUSR1' }));
    expect((await manager.containerStatus(fromImage, false)).status.stopSignal).to.equal('SIGQUIT');
    expect((await manager.containerStatus(fromConfig, false)).status.stopSignal).to.equal('SIGUSR1');
  });

  it('a record written before the name existed still loads and reports what it did before', async () => {
    const id = await manager.createContainer('pod1', config({ userSpecifiedImage: 'busybox:1.36' }));
    manager.close();
    const file = path.join(dir, 'containers', id, 'state.json');
    const rec = JSON.parse(readFileSync(file, 'utf8'));
    expect(rec.image.name).to.equal('busybox:1.36');
    delete rec.image.name;
    writeFileSync(file, JSON.stringify(rec));
    manager = await open();
    const { status } = await manager.containerStatus(id, false);
    expect(status.image).to.include({ name: 'sha256:img', ref: 'docker.io/library/busybox@sha256:dig', id: 'sha256:img' });
  });

  it('reportedImageName: user-specified, else first tag, else the request', () => {
    expect(reportedImageName('nginx', ['docker.io/library/nginx:latest'], 'sha256:x')).to.equal('nginx');
    expect(reportedImageName('', ['docker.io/library/nginx:latest', 'b:1'], 'sha256:x')).to.equal('docker.io/library/nginx:latest');
    expect(reportedImageName(undefined, [], 'sha256:x')).to.equal('sha256:x');
  });
});
