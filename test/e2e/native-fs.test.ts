/**
 * The real addon's filesystem calls as root: tmpfs and bind mounts, remount read-only, an overlay
 * whiteout device, trusted.* xattrs (absent ones read as undefined; symlinks are not followed),
 * and the shape of errors. Every mount is undone in afterEach even when a test fails.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { loadNativeBinding } from '../../native/addon';
import { NativeError, type NativeBinding } from '../../native/binding';

function mountedTargets(): string[] {
  // mountinfo field 5 is the mount point (spaces escaped as \040).
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(' ')[4].replace(/\\040/g, ' '));
}

async function expectNativeRejection(promise: Promise<unknown>, code: string): Promise<NativeError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(NativeError);
    expect((error as NativeError).code).to.equal(code);
    return error as NativeError;
  }
  throw new Error(`expected a rejection with ${code}`);
}

describe('native addon (e2e, root): mounts, device nodes, xattrs', function () {
  let native: NativeBinding;
  let tmp: string;
  const mounted: string[] = [];

  before(function () {
    expect(process.getuid?.(), 'these tests need root').to.equal(0);
    native = loadNativeBinding();
  });

  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-native-fs-'));
  });

  afterEach(async () => {
    for (const target of mounted.splice(0).reverse()) {
      while (mountedTargets().includes(target)) await native.unmount(target, ['detach']);
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  async function mountTmpfs(target: string): Promise<void> {
    fs.mkdirSync(target, { recursive: true });
    await native.mount('tmpfs', target, 'tmpfs', ['nosuid', 'nodev'], 'size=4m,mode=0755');
    mounted.push(target);
  }

  it('mounts and unmounts a tmpfs; a second unmount is EINVAL naming the path', async () => {
    const target = path.join(tmp, 'tmpfs');
    await mountTmpfs(target);
    expect(mountedTargets()).to.include(target);
    const line = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === target);
    expect(line).to.match(/ - tmpfs tmpfs rw,.*size=4096k/);
    expect(line).to.match(/nosuid,nodev/);
    fs.writeFileSync(path.join(target, 'f'), 'x');
    await native.unmount(target);
    expect(mountedTargets()).to.not.include(target);
    expect(fs.existsSync(path.join(target, 'f'))).to.equal(false);
    const error = await expectNativeRejection(native.unmount(target), 'EINVAL');
    expect(error.errno).to.equal(22);
    expect(error.message).to.contain(`umount2 ${target}: EINVAL`);
  });

  it('bind-mounts a directory and remounts the bind read-only', async () => {
    const source = path.join(tmp, 'source');
    const target = path.join(tmp, 'target');
    fs.mkdirSync(source);
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(source, 'hello'), 'from source');
    await native.mount(source, target, 'none', ['bind']);
    mounted.push(target);
    expect(fs.readFileSync(path.join(target, 'hello'), 'utf8')).to.equal('from source');
    await native.mount('none', target, '', ['remount', 'bind', 'rdonly']);
    expect(() => fs.writeFileSync(path.join(target, 'new'), 'x')).to.throw(/EROFS/);
    fs.writeFileSync(path.join(source, 'still-writable'), 'x');
    await native.unmount(target, ['detach']);
    expect(fs.readdirSync(target)).to.deep.equal([]);
  });

  it('rejects a mount on a missing target with ENOENT and the paths in the message', async () => {
    const missing = path.join(tmp, 'missing', 'dir');
    const error = await expectNativeRejection(native.mount('tmpfs', missing, 'tmpfs', []), 'ENOENT');
    expect(error.message).to.contain(missing);
    expect(error.message).to.match(/^mount tmpfs on /);
  });

  it('makes a 0/0 character device (an overlay whiteout) and refuses a second one with EEXIST', async () => {
    const dir = path.join(tmp, 'fs');
    await mountTmpfs(dir);
    const whiteout = path.join(dir, 'deleted-file');
    await native.mknod(whiteout, fs.constants.S_IFCHR | 0o000, 0, 0);
    const stat = fs.lstatSync(whiteout);
    expect(stat.isCharacterDevice()).to.equal(true);
    expect(stat.rdev).to.equal(0);
    expect(stat.mode & 0o777).to.equal(0);
    await expectNativeRejection(native.mknod(whiteout, fs.constants.S_IFCHR, 0, 0), 'EEXIST');
    const fifo = path.join(dir, 'fifo');
    await native.mknod(fifo, fs.constants.S_IFIFO | 0o600, 0, 0);
    expect(fs.lstatSync(fifo).isFIFO()).to.equal(true);
  });

  it('sets, reads and lists trusted.overlay.opaque; an absent attribute is undefined', async () => {
    const dir = path.join(tmp, 'fs');
    await mountTmpfs(dir);
    const opaque = path.join(dir, 'opaque-dir');
    fs.mkdirSync(opaque);
    expect(await native.lgetxattr(opaque, 'trusted.overlay.opaque')).to.equal(undefined);
    expect(await native.llistxattr(opaque)).to.deep.equal([]);
    await native.lsetxattr(opaque, 'trusted.overlay.opaque', Buffer.from('y'));
    await native.lsetxattr(opaque, 'trusted.berth.empty', Buffer.alloc(0));
    const value = await native.lgetxattr(opaque, 'trusted.overlay.opaque');
    expect(value?.toString()).to.equal('y');
    expect((await native.lgetxattr(opaque, 'trusted.berth.empty'))?.length).to.equal(0);
    expect((await native.llistxattr(opaque)).sort()).to.deep.equal(['trusted.berth.empty', 'trusted.overlay.opaque']);
    const big = Buffer.alloc(3000, 7);
    await native.lsetxattr(opaque, 'trusted.berth.big', big);
    expect((await native.lgetxattr(opaque, 'trusted.berth.big'))?.equals(big)).to.equal(true);
  });

  it('never follows a symlink: the attribute lands on the link, not its target', async () => {
    const dir = path.join(tmp, 'fs');
    await mountTmpfs(dir);
    const real = path.join(dir, 'real');
    const link = path.join(dir, 'link');
    fs.mkdirSync(real);
    fs.symlinkSync(real, link);
    await native.lsetxattr(link, 'trusted.berth.mark', Buffer.from('link'));
    expect((await native.lgetxattr(link, 'trusted.berth.mark'))?.toString()).to.equal('link');
    expect(await native.lgetxattr(real, 'trusted.berth.mark')).to.equal(undefined);
    expect(await native.llistxattr(real)).to.deep.equal([]);
  });

  it('reports ENOENT for xattr calls on a missing path', async () => {
    const missing = path.join(tmp, 'nope');
    const error = await expectNativeRejection(native.lgetxattr(missing, 'trusted.x'), 'ENOENT');
    expect(error.message).to.contain(`lgetxattr trusted.x on ${missing}: ENOENT`);
    await expectNativeRejection(native.lsetxattr(missing, 'trusted.x', Buffer.from('1')), 'ENOENT');
  });
});
