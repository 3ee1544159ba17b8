import { expect } from 'chai';
import { FakeNativeBinding } from '../native/testing/fake-native';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { errorKindOf } from '../common/errors';
import { ContainerManager } from './container-manager';
import { checkImageSubPath, resolveImageSubPath } from './image-volumes';
import type { ImageUseRegistry } from './interfaces';
import type { ContainerConfigInput, ContainerMountInput } from './spec/inputs';
import { FakeImages } from './testing/fake-images';
import { tempDirEach } from '../common/testing/temp-dir-fixtures';
import { fakeManagerOptions, managerFakes, shContainerConfig, type ManagerFakes } from './testing/container-manager-fixtures';
import { rejection } from '../common/testing/rejection-fixtures';

/** The innermost message of an error chain (the manager wraps create errors). */
function messages(err: Error): string {
  const out: string[] = [];
  for (let e: unknown = err; e instanceof Error; e = e.cause) out.push(e.message);
  return out.join(' <- ');
}

class RecordingUsers implements ImageUseRegistry {
  readonly users = new Map<string, Set<string>>();
  addImageUser(imageId: string, containerId: string): void {
    if (!this.users.has(imageId)) this.users.set(imageId, new Set());
    this.users.get(imageId)!.add(containerId);
  }
  removeImageUser(imageId: string, containerId: string): void {
    this.users.get(imageId)?.delete(containerId);
    if (this.users.get(imageId)?.size === 0) this.users.delete(imageId);
  }
  of(imageId: string): string[] {
    return [...(this.users.get(imageId) ?? [])];
  }
}

describe('runtime/image volumes (fakes)', () => {
  let dir: string;
  let images: FakeImages;
  let native: FakeNativeBinding;
  let users: RecordingUsers;
  let manager: ContainerManager;

  const volume = (patch: Partial<ContainerMountInput> = {}): ContainerMountInput => ({ containerPath: '/data', hostPath: '', readonly: false, propagation: 'bidirectional', image: 'data:1', imageSubPath: '', ...patch });
  const config = (patch: Partial<ContainerConfigInput> = {}): ContainerConfigInput => shContainerConfig({ mounts: [volume()], ...patch });
  let fakes: ManagerFakes;
  const open = () => ContainerManager.open(fakeManagerOptions(dir, fakes, { imageUsers: users }));
  const spec = (id: string) => JSON.parse(readFileSync(path.join(dir, 'containers', id, 'bundle', 'config.json'), 'utf8')) as { mounts: Array<{ destination: string; source: string; options: string[] }> };
  const volumeMounts = () => native.calls.filter((c) => c.method === 'mount' && String(c.args[1]).includes(`${path.sep}iv${path.sep}`));

  tempDirEach('berth-iv-', async (d) => {
    dir = d;
    fakes = managerFakes(dir, { repoDigests: [], lowerDirs: ['/l/2', '/l/1'] });
    ({ images, native } = fakes);
    images.images.set('data:1', { id: 'sha256:data', repoTags: ['data:1'], repoDigests: [], config: {}, lowerDirs: ['/l/d1'] });
    images.images.set('sha256:data', images.images.get('data:1')!);
    users = new RecordingUsers();
    manager = await open();
  });
  afterEach(() => manager.close());

  it('mounts the image layers read-only and noexec (lowerdirs only) and binds them ro,noexec,nosuid,nodev,private', async () => {
    const id = await manager.createContainer('pod1', config());
    const [mount] = volumeMounts();
    const mountPoint = path.join(dir, 'containers', id, 'iv', '0');
    expect(mount.args.slice(0, 4)).to.deep.equal(['overlay', mountPoint, 'overlay', ['rdonly', 'noexec', 'nosuid', 'nodev']]);
    // No upperdir/workdir: the overlay itself cannot be written. The empty bottom layer lets a one-layer image mount.
    expect(mount.args[4]).to.equal(`lowerdir=/l/d1:${path.join(dir, 'containers', id, 'iv', 'empty')}`);
    const bind = spec(id).mounts.find((m) => m.destination === '/data')!;
    expect(bind.source).to.equal(mountPoint);
    // The request asked for rw and bidirectional: an image volume is neither.
    expect(bind.options).to.have.members(['rbind', 'rprivate', 'ro', 'noexec', 'nosuid', 'nodev']);
    expect(users.of('sha256:data')).to.deep.equal([id]);
    const { status } = await manager.containerStatus(id, false);
    expect(status.mounts).to.deep.equal([{ containerPath: '/data', hostPath: mountPoint, readonly: true, propagation: 'private', image: 'data:1', imageSubPath: '' }]);
  });

  it('refuses an image that is not in the store with NotFound naming mounts[i].image, leaving nothing behind', async () => {
    const err = await rejection(manager.createContainer('pod1', config({ mounts: [volume({ containerPath: '/a', image: 'data:1' }), volume({ containerPath: '/b', image: 'nope:1' })] })));
    expect(errorKindOf(err)).to.equal('NotFound');
    expect(messages(err)).to.contain('mounts[1].image: image "nope:1" not found');
    expect(native.activeMounts().length).to.equal(0);
    expect(users.users.size).to.equal(0);
    expect(existsSync(path.join(dir, 'containers')) ? (await import('node:fs')).readdirSync(path.join(dir, 'containers')) : []).to.deep.equal([]);
  });

  it('refuses an image whose removal began before the volume registered (re-resolved by id after registering)', async () => {
    const resolveImage = images.resolveImage.bind(images);
    // The first lookup (by ref) finds it; by the time the volume has registered, RemoveImage has marked it.
    images.resolveImage = async (ref) => (ref === 'sha256:data' ? undefined : resolveImage(ref));
    const err = await rejection(manager.createContainer('pod1', config()));
    expect(errorKindOf(err)).to.equal('NotFound');
    expect(messages(err)).to.contain('mounts[0].image: image sha256:data was removed meanwhile');
    expect(volumeMounts()).to.have.length(0);
    expect(users.users.size).to.equal(0);
  });

  it('unmounts the volume and unregisters its image when a later create step fails', async () => {
    const err = await rejection(manager.createContainer('pod1', config({ security: { capabilities: { add: ['FLY'] } } })));
    expect(errorKindOf(err)).to.equal('InvalidArgument');
    expect(volumeMounts()).to.have.length(1);
    expect(native.activeMounts().length).to.equal(0);
    expect(users.users.size).to.equal(0);
  });

  it('refuses an escaping image_sub_path before mounting anything, naming the field', async () => {
    for (const bad of ['../etc', 'dir/../../etc', '/etc', 'a/..']) {
      const err = await rejection(manager.createContainer('pod1', config({ name: `c${bad.length}`, mounts: [volume({ imageSubPath: bad })] })));
      expect(errorKindOf(err), bad).to.equal('InvalidArgument');
      expect(messages(err), bad).to.contain('mounts[0].image_sub_path');
    }
    expect(volumeMounts()).to.have.length(0);
    expect(users.users.size).to.equal(0);
  });

  it('remove unmounts the volume and unregisters the image, also after a berthd restart (old records still load)', async () => {
    const id = await manager.createContainer('pod1', config());
    const plain = await manager.createContainer('pod1', config({ name: 'plain', mounts: [] }));
    const mountPoint = path.join(dir, 'containers', id, 'iv', '0');
    expect(native.isMounted(mountPoint)).to.equal(true);
    // A record written before image volumes existed has no imageVolumes field.
    const plainRecord = path.join(dir, 'containers', plain, 'state.json');
    const old = JSON.parse(readFileSync(plainRecord, 'utf8'));
    expect(old.imageVolumes).to.equal(undefined);
    manager.close();
    users = new RecordingUsers();
    manager = await open();
    expect(users.of('sha256:data')).to.deep.equal([id]);
    await manager.removeContainer(id);
    expect(native.isMounted(mountPoint)).to.equal(false);
    expect(native.calls.filter((c) => c.method === 'unmount').map((c) => c.args[0])).to.include(mountPoint);
    expect(users.users.size).to.equal(0);
    await manager.removeContainer(plain);
    expect(manager.listContainers()).to.deep.equal([]);
  });

  it('recovery unmounts the image volumes of a create interrupted before its record', async () => {
    const orphan = 'cd'.repeat(32);
    const mountPoint = path.join(dir, 'containers', orphan, 'iv', '0');
    mkdirSync(mountPoint, { recursive: true });
    native.addMount(mountPoint);
    manager.close();
    manager = await open();
    expect(native.isMounted(mountPoint)).to.equal(false);
    expect(existsSync(path.join(dir, 'containers', orphan))).to.equal(false);
  });
});

describe('runtime/image volumes: image_sub_path', () => {
  let root: string;
  tempDirEach('berth-ivsub-', (d) => {
    root = d;
    mkdirSync(path.join(root, 'dir', 'sub'), { recursive: true });
    writeFileSync(path.join(root, 'dir', 'file'), 'x');
    symlinkSync('/', path.join(root, 'evil'));
    symlinkSync('dir', path.join(root, 'inner'));
  });

  const resolve = (p: string) => resolveImageSubPath(root, checkImageSubPath(p, 2), 2);

  it('resolves a subdirectory or a file inside the image', async () => {
    expect(await resolve('dir/sub')).to.equal(path.join(root, 'dir', 'sub'));
    expect(await resolve('./dir//sub/')).to.equal(path.join(root, 'dir', 'sub'));
    expect(await resolve('dir/file')).to.equal(path.join(root, 'dir', 'file'));
    expect(await resolve('')).to.equal(root);
  });

  it('refuses .., absolute paths and NUL lexically, naming the field', () => {
    for (const bad of ['dir/../../etc', '..', 'dir/..', '/etc', 'dir\0x', 'a/'.repeat(2049)]) {
      expect(() => checkImageSubPath(bad, 2), JSON.stringify(bad.slice(0, 20))).to.throw(/mounts\[2\]\.image_sub_path/);
    }
  });

  it('refuses a symlink anywhere in the path (evil -> /, and one pointing inside), never following it', async () => {
    for (const bad of ['evil', 'evil/etc', 'inner/sub']) {
      const err = await rejection(resolve(bad));
      expect(errorKindOf(err), bad).to.equal('InvalidArgument');
      expect(err.message).to.contain('mounts[2].image_sub_path').and.contain('symbolic link');
    }
  });

  it('answers NotFound for a path that does not exist or goes through a file', async () => {
    for (const bad of ['missing', 'dir/file/x']) {
      const err = await rejection(resolve(bad));
      expect(errorKindOf(err), bad).to.equal('NotFound');
      expect(err.message).to.contain('mounts[2].image_sub_path');
    }
  });
});
