/**
 * Image volumes as kubelet asks for them (CRI Mount.image after a PullImage of the volume image,
 * with the image_ref PullImage answered), through a real berthd: the content is readable, cannot
 * be written or executed, image_sub_path mounts only that directory and cannot escape, the image
 * cannot be removed while a container uses it, and removal leaves no mount behind.
 */
import { status as grpcStatus } from '@grpc/grpc-js';
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { runtime } from '../../cri/api/generated/cri';
import { CriStack, grpcRefusal } from './support/cri-stack';
import { buildImage, pushImage } from './support/test-images';

const { NOT_FOUND, INVALID_ARGUMENT, FAILED_PRECONDITION } = grpcStatus;

/** Lines of this process's mount table whose mount point is under `dir`. */
function mountsUnder(dir: string): string[] {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.split(' ')[4]?.startsWith(dir));
}

describe('e2e kubelet: image volumes (CRI Mount.image)', function () {
  this.timeout(120_000);
  const stack = new CriStack('imagevol');
  let dataRef = '';
  let podId = '';

  before(async () => {
    await stack.start({
      // The volume: a file, a subdirectory, an executable, and a link to the host's root.
      push: async (registry) => {
        const data = await buildImage({
          layers: [
            [
              { name: 'hello.txt', content: 'hello from the data image\n' },
              { name: 'dir/', type: 'directory' },
              { name: 'dir/inner.txt', content: 'inner\n' },
              { name: 'bin/', type: 'directory' },
              { name: 'bin/busybox', content: fs.readFileSync('/bin/busybox'), mode: 0o755 },
              { name: 'evil', type: 'symlink', linkname: '/' },
            ],
          ],
        });
        await pushImage(registry.host, 'e2e/data', 'v1', data);
      },
    });
    // kubelet pulls the volume's image first and passes the image_ref it got back.
    dataRef = (await stack.client.pullImage({ image: { image: `${stack.registry!.host}/e2e/data:v1` } })).imageRef ?? '';
    expect(dataRef).to.not.equal('');
    podId = await stack.runPod(stack.podConfig());
  });

  after(() => stack.stop());

  const create = (mounts: runtime.v1.IMount[]) => stack.createScript(podId, stack.podConfig(), '', { command: ['sleep', '600'], mounts }).then((containerId) => ({ containerId }));
  const exec = async (containerId: string, script: string) => {
    const r = await stack.client.execSync({ containerId, cmd: ['sh', '-c', script], timeout: 10 });
    return { out: Buffer.from(r.stdout ?? []).toString() + Buffer.from(r.stderr ?? []).toString(), exitCode: r.exitCode };
  };

  it('mounts the image read-only and noexec, image_sub_path only that directory; the image stays until the container is removed', async () => {
    const { containerId } = await create([
      { containerPath: '/data', image: { image: dataRef }, readonly: true },
      { containerPath: '/sub', image: { image: dataRef }, imageSubPath: 'dir', readonly: true },
    ]);
    const id = containerId ?? '';
    let removed = false;
    try {
      await stack.client.startContainer({ containerId: id });
      expect(await exec(id, 'cat /data/hello.txt')).to.deep.equal({ out: 'hello from the data image\n', exitCode: 0 });
      expect(await exec(id, 'ls /sub')).to.deep.equal({ out: 'inner.txt\n', exitCode: 0 });
      const write = await exec(id, 'echo x > /data/new; echo x > /sub/new');
      expect(write.exitCode).to.not.equal(0);
      expect(write.out).to.contain('Read-only file system');
      const run = await exec(id, '/data/bin/busybox true');
      expect(run.exitCode, run.out).to.equal(126);
      expect(run.out).to.contain('Permission denied');

      const { status } = await stack.client.containerStatus({ containerId: id });
      const [whole, sub] = status?.mounts ?? [];
      expect(whole).to.deep.include({ containerPath: '/data', readonly: true });
      expect(whole.image?.image).to.equal(dataRef);
      expect(sub).to.deep.include({ containerPath: '/sub', readonly: true, imageSubPath: 'dir' });
      // One overlay per volume, under the container's dir; the sub path is a directory inside the second.
      const volumeDir = path.dirname(whole.hostPath ?? '');
      expect(sub.hostPath).to.equal(path.join(volumeDir, '1', 'dir'));
      expect(volumeDir.startsWith(stack.berthd!.root), volumeDir).to.equal(true);
      const hostMounts = mountsUnder(volumeDir);
      expect(hostMounts, 'one overlay per volume').to.have.length(2);
      for (const line of hostMounts) expect(line).to.match(/ ro,nosuid,nodev,noexec[, ].* - overlay /);

      const busy = await grpcRefusal(stack.client.removeImage({ image: { image: dataRef } }));
      expect(busy.code, busy.details).to.equal(FAILED_PRECONDITION);
      expect(busy.details).to.contain(id);
      expect((await stack.client.imageStatus({ image: { image: dataRef } })).image?.id).to.be.a('string');

      await stack.client.removeContainer({ containerId: id });
      removed = true;
      expect(mountsUnder(volumeDir)).to.deep.equal([]);
      await stack.client.removeImage({ image: { image: dataRef } });
      expect((await stack.client.imageStatus({ image: { image: dataRef } })).image ?? null).to.equal(null);
    } finally {
      if (!removed) await stack.client.removeContainer({ containerId: id }).catch(() => undefined);
      // Later tests need the image again.
      await stack.client.pullImage({ image: { image: `${stack.registry!.host}/e2e/data:v1` } });
    }
  });

  it('refuses escaping sub paths, a missing sub path and an image not in the store, naming the field and leaving no mount', async () => {
    const rows: Array<[runtime.v1.IMount, number, string]> = [
      [{ containerPath: '/v', image: { image: dataRef }, imageSubPath: 'evil' }, INVALID_ARGUMENT, 'mounts[0].image_sub_path'],
      [{ containerPath: '/v', image: { image: dataRef }, imageSubPath: 'evil/etc' }, INVALID_ARGUMENT, 'mounts[0].image_sub_path'],
      [{ containerPath: '/v', image: { image: dataRef }, imageSubPath: 'dir/../../etc' }, INVALID_ARGUMENT, 'mounts[0].image_sub_path'],
      [{ containerPath: '/v', image: { image: dataRef }, imageSubPath: '/etc' }, INVALID_ARGUMENT, 'mounts[0].image_sub_path'],
      [{ containerPath: '/v', image: { image: dataRef }, imageSubPath: 'nope' }, NOT_FOUND, 'mounts[0].image_sub_path'],
      [{ containerPath: '/v', image: { image: `${stack.registry!.host}/e2e/never-pulled:v1` } }, NOT_FOUND, 'mounts[0].image'],
    ];
    for (const [mount, code, field] of rows) {
      const err = await grpcRefusal(create([mount]));
      expect(err.code, `${mount.imageSubPath}: ${err.details}`).to.equal(code);
      expect(err.details).to.contain(field);
    }
    expect(mountsUnder(path.join(stack.berthd!.root, 'containers'))).to.deep.equal([]);
    // Nothing holds the image now.
    expect((await stack.client.listContainers({})).containers ?? []).to.deep.equal([]);
  });
});
