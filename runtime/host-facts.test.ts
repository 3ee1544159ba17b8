import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError, NotFoundError } from '../common/errors';
import { boundingCapabilities, parseHardLimit, prepareMountSource, resolveDevices } from './host-facts';
import { tempDirEach } from '../common/testing/temp-dir-fixtures';

describe('runtime/host-facts', () => {
  it('limits capabilities to the bounding set', () => {
    // bits 0 (CHOWN), 5 (KILL), 21 (SYS_ADMIN)
    const status = `Name:\tx\nCapBnd:\t${(1 | (1 << 5) | (1 << 21)).toString(16).padStart(16, '0')}\n`;
    expect(boundingCapabilities(status, 40)).to.deep.equal(['CAP_CHOWN', 'CAP_KILL', 'CAP_SYS_ADMIN']);
    expect(boundingCapabilities('CapBnd:\t000001ffffffffff\n', 37)).to.have.length(38);
    expect(boundingCapabilities('no caps line', 40)).to.have.length(41);
  });
  it('parses hard limits', () => {
    const limits = 'Limit                     Soft Limit           Hard Limit           Units     \nMax open files            1024                 20000                files     \nMax locked memory         unlimited            unlimited            bytes\n';
    expect(parseHardLimit(limits, 'Max open files')).to.equal(20000);
    expect(parseHardLimit(limits, 'Max locked memory')).to.equal(undefined);
  });
});

describe('runtime/host-facts: mount sources and device directories', () => {
  let tmp: string;
  tempDirEach('berth-hostfacts-', (d) => (tmp = d));

  const refused: Array<{ name: string; hostPath: string; message: string }> = [
    { name: 'a relative path', hostPath: 'data/x', message: 'mounts[2].host_path: "data/x" is not absolute' },
    { name: 'a ".." component', hostPath: '/var/../etc/x', message: 'mounts[2].host_path: "/var/../etc/x" has ".." components' },
    { name: 'a trailing ".."', hostPath: '/tmp/a/..', message: 'has ".." components' },
    { name: 'an empty path', hostPath: '', message: 'mounts[2].host_path: "" is not absolute' },
  ];
  for (const c of refused) {
    it(`refuses ${c.name} as InvalidArgument naming the field`, async () => {
      const err = await prepareMountSource(c.hostPath, 2).then(() => undefined, (e: unknown) => e);
      expect(err).to.be.instanceOf(InvalidArgumentError);
      expect((err as Error).message).to.contain(c.message);
    });
  }

  it('creates a missing source directory and its parents 0755 and root-owned, whatever the umask', async () => {
    const target = path.join(tmp, 'a', 'b', 'c');
    const old = process.umask(0o077);
    let got: string;
    try {
      got = await prepareMountSource(target, 0);
    } finally {
      process.umask(old);
    }
    expect(got).to.equal(target);
    for (const dir of [path.join(tmp, 'a'), path.join(tmp, 'a', 'b'), target]) {
      const st = await fs.stat(dir);
      expect(st.isDirectory(), dir).to.equal(true);
      expect(st.mode & 0o7777, dir).to.equal(0o755);
      expect(st.uid, dir).to.equal(0);
    }
  });

  it('keeps an existing source (file or dir) as is and resolves symlinks', async () => {
    await fs.writeFile(path.join(tmp, 'file'), 'x', { mode: 0o600 });
    await fs.symlink(path.join(tmp, 'file'), path.join(tmp, 'link'));
    expect(await prepareMountSource(path.join(tmp, 'link'), 0)).to.equal(path.join(tmp, 'file'));
    expect((await fs.stat(path.join(tmp, 'file'))).mode & 0o777).to.equal(0o600);
    expect(await prepareMountSource(`${tmp}//./file`, 0)).to.equal(path.join(tmp, 'file'));
  });

  it('refuses a source below a regular file, naming the field', async () => {
    await fs.writeFile(path.join(tmp, 'file'), 'x');
    const err = await prepareMountSource(path.join(tmp, 'file', 'sub'), 4).then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(InvalidArgumentError);
    expect((err as Error).message).to.contain('mounts[4].host_path');
  });

  it('expands a device directory to every node below it, mapped under container_path', async () => {
    await fs.mkdir(path.join(tmp, 'sub', 'deeper'), { recursive: true });
    await fs.mkdir(path.join(tmp, 'pts'));
    mknod(path.join(tmp, 'null'), 'c', 1, 3);
    mknod(path.join(tmp, 'sub', 'zero'), 'c', 1, 5);
    mknod(path.join(tmp, 'sub', 'deeper', 'loop'), 'b', 7, 200);
    mknod(path.join(tmp, 'pts', 'skipped'), 'c', 1, 7);
    await fs.writeFile(path.join(tmp, 'not-a-device'), '');
    await fs.symlink(path.join(tmp, 'null'), path.join(tmp, 'symlinked'));
    const got = await resolveDevices({ hostPath: tmp, containerPath: '/dev/vendor', permissions: 'rw' }, 1);
    expect(got.map((d) => [d.containerPath, d.type, d.major, d.minor, d.permissions])).to.deep.equal([
      ['/dev/vendor/null', 'c', 1, 3, 'rw'],
      ['/dev/vendor/sub/deeper/loop', 'b', 7, 200, 'rw'],
      ['/dev/vendor/sub/zero', 'c', 1, 5, 'rw'],
    ]);
    // Without container_path, the nodes keep their host paths.
    const same = await resolveDevices({ hostPath: path.join(tmp, 'sub'), containerPath: '', permissions: '' }, 0);
    expect(same.map((d) => [d.containerPath, d.permissions])).to.deep.equal([
      [path.join(tmp, 'sub', 'deeper', 'loop'), 'rwm'],
      [path.join(tmp, 'sub', 'zero'), 'rwm'],
    ]);
  });

  const deviceCases: Array<{ name: string; setup: (dir: string) => Promise<string>; max?: number; maxEntries?: number; error: new (m: string) => Error; message: string }> = [
    { name: 'a missing path is NotFound', setup: async (d) => path.join(d, 'nope'), error: NotFoundError, message: 'devices[3].host_path: ' },
    { name: 'a regular file is InvalidArgument', setup: async (d) => (await fs.writeFile(path.join(d, 'f'), ''), path.join(d, 'f')), error: InvalidArgumentError, message: 'is not a device node' },
    { name: 'a relative path is InvalidArgument', setup: async () => 'dev/null', error: InvalidArgumentError, message: 'devices[3].host_path: "dev/null" is not absolute' },
    {
      name: 'a directory with more nodes than the bound is InvalidArgument',
      setup: async (d) => (mknod(path.join(d, 'a'), 'c', 1, 3), mknod(path.join(d, 'b'), 'c', 1, 5), d),
      max: 1,
      error: InvalidArgumentError,
      message: 'holds more than 1 device nodes',
    },
    {
      name: 'a directory with more entries than the search bound is InvalidArgument, even without nodes',
      setup: async (d) => {
        for (let i = 0; i < 12; i++) await fs.mkdir(path.join(d, `dir${i}`, 'sub'), { recursive: true });
        return d;
      },
      maxEntries: 20,
      error: InvalidArgumentError,
      message: 'has more than 20 entries to search for device nodes',
    },
  ];
  for (const c of deviceCases) {
    it(`device: ${c.name}`, async () => {
      const hostPath = await c.setup(tmp);
      const err = await resolveDevices({ hostPath, containerPath: '', permissions: '' }, 3, c.max, c.maxEntries).then(() => undefined, (e: unknown) => e);
      expect(err).to.be.instanceOf(c.error);
      expect((err as Error).message).to.contain(c.message);
    });
  }

  it('a single device node resolves to itself', async () => {
    const got = await resolveDevices({ hostPath: '/dev/null', containerPath: '/dev/mynull', permissions: 'r' }, 0);
    expect(got).to.have.length(1);
    expect(got[0]).to.deep.include({ containerPath: '/dev/mynull', type: 'c', major: 1, minor: 3, permissions: 'r' });
  });
});

function mknod(p: string, type: 'c' | 'b', major: number, minor: number): void {
  execFileSync('mknod', [p, type, String(major), String(minor)]);
}
