import { expect } from 'chai';
import { closeSync, openSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { RuncDriver } from './runc-driver';
import { SealedBinary } from './sealed-binary';
import { tempDirEach } from '../../common/testing/temp-dir-fixtures';

describe('runtime/oci-driver/sealed-binary: what conmon runs instead of the runc file', () => {
  let dir: string;
  let bin: string;
  let copies: string[];
  let fds: number[];
  let fallbacks: string[];
  /** A copier that opens the file (a real fd, so closing it is checked too). */
  const copier = async (file: string) => {
    copies.push(file);
    const fd = openSync(file, 'r');
    fds.push(fd);
    return fd;
  };

  tempDirEach('berth-sealed-', async (d) => {
    dir = d;
    bin = path.join(dir, 'runc');
    await fs.writeFile(bin, '#!/bin/sh\n', { mode: 0o755 });
    copies = [];
    fds = [];
    fallbacks = [];
  });
  afterEach(() => {
    for (const fd of fds) {
      try {
        closeSync(fd);
      } catch {
        // already closed by dispose
      }
    }
  });

  it('runs the copy through /proc, made once while the file stays the same', async () => {
    const sealed = new SealedBinary(bin, copier, (r) => fallbacks.push(r), '/proc/self/fd');
    const paths = await Promise.all([sealed.path(), sealed.path()]);
    expect(await sealed.path()).to.equal(paths[0]);
    expect(paths).to.deep.equal([`/proc/self/fd/${fds[0]}`, `/proc/self/fd/${fds[0]}`]);
    expect(copies).to.deep.equal([bin]);
    expect(fallbacks).to.deep.equal([]);
  });

  it('copies again once the file changed, checked behind a launch (an upgraded runc runs from the next launch on)', async () => {
    const sealed = new SealedBinary(bin, copier, (r) => fallbacks.push(r), '/proc/self/fd');
    const first = await sealed.path();
    await fs.rm(bin);
    await fs.writeFile(bin, '#!/bin/sh\n# new version\n', { mode: 0o755 });
    // This launch gets the copy at once; the check it started finds the new file.
    expect(await sealed.path()).to.equal(first);
    for (let i = 0; i < 100 && copies.length < 2; i++) await new Promise((r) => setTimeout(r, 5));
    const second = await sealed.path();
    expect(copies).to.have.length(2);
    expect(second).to.not.equal(first);
    expect(second).to.equal(`/proc/self/fd/${fds[1]}`);
  });

  it('a launch with a copy made does not wait for the check of the file', async () => {
    const sealed = new SealedBinary(bin, copier, (r) => fallbacks.push(r), '/proc/self/fd');
    const first = await sealed.path();
    let resolvedSync = false;
    void sealed.path().then(() => (resolvedSync = true));
    await Promise.resolve();
    await Promise.resolve();
    expect(resolvedSync).to.equal(true);
    expect(await sealed.path()).to.equal(first);
  });

  it('runs the file itself when no copy can be made, says so once, and does not retry per container', async () => {
    const failing = async (file: string) => {
      copies.push(file);
      throw new Error('memfd_create: Operation not permitted');
    };
    const sealed = new SealedBinary(bin, failing, (r) => fallbacks.push(r), '/proc/self/fd');
    expect(await sealed.path()).to.equal(bin);
    expect(await sealed.path()).to.equal(bin);
    expect(copies).to.have.length(1);
    expect(fallbacks).to.deep.equal(['memfd_create: Operation not permitted']);
  });

  it('leaves a missing file to the runtime start to report', async () => {
    const missing = path.join(dir, 'nope');
    const sealed = new SealedBinary(missing, copier, (r) => fallbacks.push(r), '/proc/self/fd');
    expect(await sealed.path()).to.equal(missing);
    expect(copies).to.deep.equal([]);
  });

  it('dispose closes the copy', async () => {
    const sealed = new SealedBinary(bin, copier, (r) => fallbacks.push(r), '/proc/self/fd');
    await sealed.path();
    sealed.dispose();
    await new Promise((r) => setTimeout(r, 20));
    expect(() => closeSync(fds[0])).to.throw().with.property('code', 'EBADF');
  });

  it('RuncDriver: runc create (conmon) and runc exec run the copy; crun and a driver without the copier run the file', async () => {
    const runc = new RuncDriver(bin, dir, { sealedCopy: copier });
    const sealedPath = await runc.execPath();
    expect(sealedPath).to.equal(`/proc/${process.pid}/fd/${fds[0]}`);
    const exec = await runc.prepareExec('c1', { args: ['true'] }, { tty: false });
    try {
      expect(exec.file).to.equal(sealedPath);
    } finally {
      await exec.dispose();
    }
    runc.dispose();
    const crunBin = path.join(dir, 'crun');
    await fs.writeFile(crunBin, '#!/bin/sh\n', { mode: 0o755 });
    expect(await new RuncDriver(crunBin, dir, { sealedCopy: copier }).execPath()).to.equal(crunBin);
    expect(await new RuncDriver(bin, dir).execPath()).to.equal(bin);
    expect(copies).to.deep.equal([bin]);
  });
});
