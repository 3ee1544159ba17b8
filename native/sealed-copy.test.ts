import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { loadNativeBinding } from './addon';
import { NativeError } from './binding';

describe('native/addon sealedCopy', () => {
  const native = loadNativeBinding();
  const opened: number[] = [];
  afterEach(() => {
    for (const fd of opened.splice(0)) fs.closeSync(fd);
  });

  it('copies the file into an executable memfd', async () => {
    const fd = await native.sealedCopy('/bin/echo');
    opened.push(fd);
    const copy = `/proc/${process.pid}/fd/${fd}`;
    expect(fs.readlinkSync(copy)).to.match(/^\/memfd:berth-runtime/);
    expect(fs.readFileSync(copy).equals(fs.readFileSync('/bin/echo'))).to.equal(true);
    expect(execFileSync(copy, ['sealed', 'copy']).toString()).to.equal('sealed copy\n');
  });

  it('cannot be written, grown or shrunk, not even through its own fd', async () => {
    const fd = await native.sealedCopy('/bin/echo');
    opened.push(fd);
    const size = fs.fstatSync(fd).size;
    expect(() => fs.writeSync(fd, Buffer.from('x'), 0, 1, 0)).to.throw().with.property('code', 'EPERM');
    expect(() => fs.ftruncateSync(fd, 1)).to.throw().with.property('code', 'EPERM');
    expect(() => fs.ftruncateSync(fd, size + 4096)).to.throw().with.property('code', 'EPERM');
    expect(() => fs.writeFileSync(`/proc/${process.pid}/fd/${fd}`, 'x')).to.throw();
    expect(fs.fstatSync(fd).size).to.equal(size);
  });

  it('refuses what is not a regular file, naming it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-sealed-'));
    try {
      const notFile = await native.sealedCopy(dir).catch((e: unknown) => e);
      expect(notFile).to.be.instanceOf(NativeError).with.property('code', 'EINVAL');
      expect((notFile as Error).message).to.contain(dir);
      const missing = await native.sealedCopy(path.join(dir, 'missing')).catch((e: unknown) => e);
      expect(missing).to.be.instanceOf(NativeError).with.property('code', 'ENOENT');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
