import { expect } from 'chai';
import { promises as fs, statSync, utimesSync } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { LayerTree } from './layer-tree';
import { unpackLayer, UnsafeLayerError } from './layer-unpack';
import { FakeNativeBinding } from '../native/testing/fake-native';
import { buildTar, TarEntrySpec } from './testing/tarball';
import { subdirs, tempDirEach } from '../common/testing/temp-dir-fixtures';

const Y1999 = new Date('1999-01-01T00:00:00Z');

describe('image/layer-unpack against hostile layers', () => {
  let root: string;
  let host: string;
  let native: FakeNativeBinding;

  tempDirEach('berth-hostile-', async (d) => {
    [root] = subdirs(d, 'layer', 'host/tmp');
    host = path.join(d, 'host');
    native = new FakeNativeBinding({ nodesOnDisk: true });
  });

  async function unpack(entries: TarEntrySpec[]): Promise<unknown> {
    const data = await buildTar(entries);
    return unpackLayer(Readable.from([data]), 'none', root, { native });
  }

  async function unpackError(entries: TarEntrySpec[]): Promise<unknown> {
    try {
      await unpack(entries);
    } catch (err) {
      return err;
    }
    return undefined;
  }

  /** `a/`, `a/tmp/` dated 1999, then `a` replaced by a symlink to `target`. */
  const plantedLater = (target: string): TarEntrySpec[] => [
    { name: 'a/', type: 'directory' },
    { name: 'a/tmp/', type: 'directory', mtime: Y1999 },
    { name: 'a', type: 'symlink', linkname: target },
  ];

  it('does not set a directory time through a symlink planted later in the layer (host dir)', async () => {
    const before = statSync(path.join(host, 'tmp')).mtimeMs;
    await unpack(plantedLater(host));
    expect(statSync(path.join(host, 'tmp')).mtimeMs).to.equal(before);
    expect(await fs.readlink(path.join(root, 'a'))).to.equal(host);
  });

  it('does not set the host /tmp time through a symlink to / planted later in the layer', async () => {
    // Other processes write into /tmp at any time, so the check is for the layer's 1999 date.
    const before = statSync('/tmp');
    try {
      await unpack(plantedLater('/'));
      expect(statSync('/tmp').mtimeMs).to.not.equal(Y1999.getTime());
    } finally {
      // Put the host's /tmp back if the unpacker did touch it.
      if (statSync('/tmp').mtimeMs === Y1999.getTime()) utimesSync('/tmp', before.atime, before.mtime);
    }
  });

  it('drops the time fix-ups of a whited-out directory and of everything below it', async () => {
    await unpack([
      { name: 'a/', type: 'directory', mtime: Y1999 },
      { name: 'a/b/', type: 'directory', mtime: Y1999 },
      { name: '.wh.a' },
      { name: 'c/', type: 'directory', mtime: Y1999 },
    ]);
    expect(native.calls.filter((c) => c.method === 'mknod').map((c) => c.args[0])).to.deep.equal([path.join(root, 'a')]);
    expect((await fs.lstat(path.join(root, 'a'))).mtimeMs).to.not.equal(Y1999.getTime());
    expect((await fs.stat(path.join(root, 'c'))).mtimeMs).to.equal(Y1999.getTime());
  });

  it('drops the time fix-ups below a directory replaced by a file', async () => {
    const result = await unpack([
      { name: 'a/', type: 'directory' },
      { name: 'a/b/', type: 'directory', mtime: Y1999 },
      { name: 'a', content: 'now a file' },
    ]);
    expect(result).to.include({ dirTimesSkipped: 0 });
    expect(await fs.readFile(path.join(root, 'a'), 'utf8')).to.equal('now a file');
  });

  it('still sets the times of directories written into after their entry', async () => {
    await unpack([
      { name: 'd/', type: 'directory', mtime: Y1999 },
      { name: 'd/e/', type: 'directory', mtime: Y1999 },
      { name: 'd/e/f', content: 'x' },
      { name: 'd/g', content: 'y' },
    ]);
    expect((await fs.stat(path.join(root, 'd'))).mtimeMs).to.equal(Y1999.getTime());
    expect((await fs.stat(path.join(root, 'd/e'))).mtimeMs).to.equal(Y1999.getTime());
  });

  it('never writes through a symlink to / planted earlier in the layer', async () => {
    const err = await unpackError([
      { name: 'a', type: 'symlink', linkname: '/' },
      { name: 'a/tmp/berth-evil', content: 'x' },
    ]);
    expect(err).to.be.instanceOf(UnsafeLayerError);
    expect((err as Error).message).to.match(/through symlink "a"/);
    expect(await fs.readdir('/tmp')).to.not.include('berth-evil');
  });

  it('never writes under a directory that a later entry replaced by a symlink', async () => {
    const err = await unpackError([
      { name: 'a/', type: 'directory' },
      { name: 'a', type: 'symlink', linkname: host },
      { name: 'a/tmp/evil', content: 'x' },
      { name: 'a/evil-dir/', type: 'directory' },
    ]);
    expect(err).to.be.instanceOf(UnsafeLayerError);
    expect(await fs.readdir(path.join(host, 'tmp'))).to.deep.equal([]);
    expect(await fs.readdir(host)).to.deep.equal(['tmp']);
  });

  it('never hardlinks or whites out through a symlink planted earlier in the layer', async () => {
    await fs.writeFile(path.join(host, 'secret'), 's');
    for (const entries of [
      [{ name: 'l', type: 'symlink', linkname: host }, { name: 'x', type: 'link', linkname: 'l/secret' }],
      [{ name: 'l', type: 'symlink', linkname: host }, { name: 'l/.wh.secret' }],
      [{ name: 'l', type: 'symlink', linkname: host }, { name: 'l/.wh..wh..opq' }],
      [{ name: 'l', type: 'symlink', linkname: host }, { name: 'l/tmp/', type: 'directory', mtime: Y1999 }],
    ] as TarEntrySpec[][]) {
      await fs.rm(root, { recursive: true, force: true });
      await fs.mkdir(root);
      expect(await unpackError(entries)).to.be.instanceOf(UnsafeLayerError);
    }
    expect(native.calls).to.deep.equal([]);
    expect(await fs.readFile(path.join(host, 'secret'), 'utf8')).to.equal('s');
    expect((await fs.stat(path.join(host, 'tmp'))).mtimeMs).to.not.equal(Y1999.getTime());
  });

  it('caps the directory time fix-ups and counts the directories past the cap', async () => {
    const entries: TarEntrySpec[] = ['d1/', 'd2/', 'd3/', 'd4/', 'd5/'].map((name) => ({ name, type: 'directory', mtime: Y1999 }));
    for (const e of [...entries]) entries.push({ name: `${e.name}f`, content: 'x' });
    const data = await buildTar(entries);
    const result = await unpackLayer(Readable.from([data]), 'none', root, { native, maxDirTimeFixups: 3 });
    expect(result.dirTimesSkipped).to.equal(2);
    const times = await Promise.all(['d1', 'd2', 'd3', 'd4', 'd5'].map(async (d) => (await fs.stat(path.join(root, d))).mtimeMs));
    expect(times.slice(0, 3)).to.deep.equal([Y1999.getTime(), Y1999.getTime(), Y1999.getTime()]);
    expect(times.slice(3)).to.not.include(Y1999.getTime());
  });

  it('applies fix-ups through no-follow directory fds: a symlink swapped in on disk fails, the target keeps its time', async () => {
    const tree = new LayerTree(root);
    const a = tree.dirAt(['a', 'tmp'], 'a/tmp/');
    tree.setDirTime(tree.dirAt(['a'], 'a/'), a.node, Y1999.getTime());
    // Something outside the unpacker's model replaces `a` with a symlink to the host dir.
    await fs.rm(path.join(root, 'a'), { recursive: true });
    await fs.symlink(host, path.join(root, 'a'));
    const before = statSync(path.join(host, 'tmp')).mtimeMs;
    expect(() => tree.applyDirTimes()).to.throw(UnsafeLayerError, /"a".*(ELOOP|ENOTDIR)/);
    expect(statSync(path.join(host, 'tmp')).mtimeMs).to.equal(before);
  });

  it('refuses an empty symlink target and a hardlink replacing the directory of its target (fuzz findings)', async () => {
    const empty = await unpackError([{ name: 's', type: 'symlink', linkname: '' }]);
    expect(empty).to.be.instanceOf(UnsafeLayerError);
    expect((empty as Error).message).to.match(/empty target/);
    await fs.rm(root, { recursive: true, force: true });
    await fs.mkdir(root);
    const link = await unpackError([
      { name: 'a/b', content: 'x' },
      { name: 'a', type: 'link', linkname: 'a/b' },
    ]);
    expect(link).to.be.instanceOf(UnsafeLayerError);
    expect((link as Error).message).to.match(/replace the directory holding its target/);
  });
});
