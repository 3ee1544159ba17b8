import { expect } from 'chai';
import { promises as fs, constants as fsc } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { unpackLayer, safeComponents, UnsafeLayerError, OPAQUE_XATTR } from './layer-unpack';
import { FakeNativeBinding } from '../native/testing/fake-native';
import { buildTar, buildTarGz, TarEntrySpec } from './testing/tarball';
import { subdirs, tempDirEach } from '../common/testing/temp-dir-fixtures';
import { rejection } from '../common/testing/rejection-fixtures';

describe('image/layer-unpack', () => {
  let root: string;
  let outside: string;
  let native: FakeNativeBinding;

  tempDirEach('berth-unpack-', async (d) => {
    [root, outside] = subdirs(d, 'layer', 'outside');
    native = new FakeNativeBinding({ nodesOnDisk: true });
  });

  async function unpack(entries: TarEntrySpec[]): Promise<{ diffId: string; size: number }> {
    const data = await buildTar(entries);
    return unpackLayer(Readable.from([data]), 'none', root, { native, preserveOwners: process.getuid?.() === 0 });
  }

  async function expectRefused(entries: TarEntrySpec[], pattern: RegExp): Promise<void> {
    const before = await fs.readdir(outside);
    const caught = await rejection(unpack(entries));
    expect(caught, 'unpack should fail').to.be.instanceOf(UnsafeLayerError);
    expect((caught as Error).message).to.match(pattern);
    expect(await fs.readdir(outside)).to.deep.equal(before);
  }

  it('splits names and refuses absolute and .. components', () => {
    expect(safeComponents('./a/b/')).to.deep.equal(['a', 'b']);
    expect(safeComponents('./')).to.deep.equal([]);
    expect(() => safeComponents('/etc/passwd')).to.throw(UnsafeLayerError, /absolute/);
    expect(() => safeComponents('a/../../x')).to.throw(UnsafeLayerError, /\.\./);
  });

  it('unpacks files, dirs, symlinks and hardlinks with modes, and returns the DiffID', async () => {
    const entries: TarEntrySpec[] = [
      { name: 'bin/', type: 'directory' },
      { name: 'bin/busybox', content: 'BB', mode: 0o4755 },
      { name: 'bin/sh', type: 'symlink', linkname: 'busybox' },
      { name: 'bin/ls', type: 'link', linkname: 'bin/busybox' },
      { name: 'etc/passwd', content: 'root:x:0:0::/root:/bin/sh\n', mode: 0o600, uid: 33, gid: 33 },
    ];
    const tarBytes = await buildTar(entries);
    const result = await unpackLayer(Readable.from([tarBytes]), 'none', root, { native, preserveOwners: process.getuid?.() === 0 });
    expect(result.diffId).to.equal('sha256:' + createHash('sha256').update(tarBytes).digest('hex'));
    expect(result.size).to.equal(tarBytes.length);
    const bb = await fs.stat(path.join(root, 'bin/busybox'));
    expect(bb.mode & 0o7777).to.equal(0o4755);
    expect(await fs.readlink(path.join(root, 'bin/sh'))).to.equal('busybox');
    expect((await fs.stat(path.join(root, 'bin/ls'))).ino).to.equal(bb.ino);
    const pw = await fs.stat(path.join(root, 'etc/passwd'));
    expect(pw.mode & 0o777).to.equal(0o600);
    // As root (CI) owners are kept; otherwise every file is the unpacking user's: checked either way.
    expect(pw.uid).to.equal(process.getuid?.() === 0 ? 33 : process.getuid?.());
    expect(pw.mtimeMs).to.equal(1_600_000_000_000);
  });

  it('turns .wh. entries into 0/0 char devices and .wh..wh..opq into the opaque xattr', async () => {
    await unpack([
      { name: 'etc/', type: 'directory' },
      { name: 'etc/.wh.motd' },
      { name: 'var/cache/.wh..wh..opq' },
    ]);
    const mk = native.calls.find((c) => c.method === 'mknod');
    expect(mk?.args).to.deep.equal([path.join(root, 'etc/motd'), fsc.S_IFCHR, 0, 0]);
    const xa = native.calls.find((c) => c.method === 'lsetxattr');
    expect(xa?.args).to.deep.equal([path.join(root, 'var/cache'), OPAQUE_XATTR, Buffer.from('y')]);
    expect(await fs.readdir(path.join(root, 'etc'))).to.deep.equal(['motd']);
  });

  it('keeps binary xattr values byte-exact (security.capability)', async () => {
    const cap = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x00, 0x04, 0x00, 0x00, 0xff, 0x80]);
    // tar-stream's packer writes PAX values as UTF-8, so plant the raw bytes over a placeholder.
    const placeholder = 'Q'.repeat(cap.length);
    const data = await buildTar([{ name: 'ping', content: 'x', pax: { 'SCHILY.xattr.security.capability': placeholder } }]);
    const at = data.indexOf(Buffer.from(placeholder));
    expect(at).to.be.greaterThan(0);
    cap.copy(data, at);
    await unpackLayer(Readable.from([data]), 'none', root, { native });
    const xa = native.calls.find((c) => c.method === 'lsetxattr' && c.args[1] === 'security.capability');
    expect((xa?.args[2] as Buffer).equals(cap)).to.equal(true);
  });

  it('unpacks gzip and zstd layers', async () => {
    const entries: TarEntrySpec[] = [{ name: 'hello', content: 'world' }];
    await unpackLayer(Readable.from([await buildTarGz(entries)]), 'gzip', root, { native });
    expect(await fs.readFile(path.join(root, 'hello'), 'utf8')).to.equal('world');
    const zst = execFileSync('zstd', ['-c', '-q'], { input: await buildTar([{ name: 'z', content: 'zz' }]) });
    await unpackLayer(Readable.from([zst]), 'zstd', root, { native });
    expect(await fs.readFile(path.join(root, 'z'), 'utf8')).to.equal('zz');
  });

  it('fails on corrupt zstd data and on a missing zstd binary', async () => {
    const zst = execFileSync('zstd', ['-c', '-q'], { input: await buildTar([{ name: 'z', content: 'z'.repeat(100_000) }]) });
    const corrupt = Buffer.from(zst);
    corrupt.fill(0x55, 20, 60);
    let caught = await rejection(unpackLayer(Readable.from([corrupt]), 'zstd', root, { native }));
    expect(caught).to.be.instanceOf(Error);
    caught = await rejection(unpackLayer(Readable.from([zst]), 'zstd', root, { native, zstdPath: '/nonexistent/zstd' }));
    expect(String((caught as Error)?.message)).to.match(/zstd/);
  });

  it('refuses an absolute entry name', async () => {
    await expectRefused([{ name: path.join(outside, 'pwned'), content: 'x' }], /absolute/);
  });

  it('refuses a .. entry name', async () => {
    await expectRefused([{ name: '../outside/pwned', content: 'x' }], /\.\./);
  });

  it('refuses writing through a symlink planted earlier in the layer', async () => {
    await expectRefused(
      [
        { name: 'evil', type: 'symlink', linkname: outside },
        { name: 'evil/pwned', content: 'x' },
      ],
      /through symlink/,
    );
  });

  it('refuses a hardlink to a file outside the layer', async () => {
    await fs.writeFile(path.join(outside, 'secret'), 's');
    await expectRefused([{ name: 'h', type: 'link', linkname: '../outside/secret' }], /\.\./);
    await expectRefused([{ name: 'h2', type: 'link', linkname: path.join(outside, 'secret') }], /absolute/);
  });

  it('refuses a hardlink through a symlinked directory', async () => {
    await fs.writeFile(path.join(outside, 'secret'), 's');
    await expectRefused(
      [
        { name: 'd', type: 'symlink', linkname: outside },
        { name: 'h', type: 'link', linkname: 'd/secret' },
      ],
      /through symlink/,
    );
  });

  it('refuses whiteouts that point out of the layer', async () => {
    await expectRefused([{ name: 'a/.wh...' }], /bad whiteout/);
    await expectRefused([{ name: '../.wh.x' }], /\.\./);
    await expectRefused(
      [
        { name: 'l', type: 'symlink', linkname: outside },
        { name: 'l/.wh.victim' },
      ],
      /through symlink/,
    );
    expect(native.calls.filter((c) => c.method === 'mknod')).to.deep.equal([]);
  });

  it('replaces a symlink with a file instead of writing through it', async () => {
    await unpack([
      { name: 'f', type: 'symlink', linkname: path.join(outside, 'target') },
      { name: 'f', content: 'mine' },
    ]);
    expect(await fs.readFile(path.join(root, 'f'), 'utf8')).to.equal('mine');
    expect(await fs.readdir(outside)).to.deep.equal([]);
  });

  it('fails cleanly on a truncated tarball', async () => {
    const data = await buildTar([{ name: 'big', content: Buffer.alloc(10_000, 1) }]);
    const caught = await rejection(unpackLayer(Readable.from([data.subarray(0, 3000)]), 'none', root, { native }));
    expect(caught).to.be.instanceOf(Error);
  });
});
