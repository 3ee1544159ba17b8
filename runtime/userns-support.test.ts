import { expect } from 'chai';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { probeIdmappedMounts } from './userns-support';

describe('runtime/userns-support: idmapped mount probe', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), 'berth-probe-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('says no when the kernel refuses the mount, and leaves nothing behind', async () => {
    const native = { mount: async () => undefined, unmount: async () => undefined, idmapMount: async () => Promise.reject(Object.assign(new Error('mount_setattr: EINVAL'), { code: 'EINVAL' })) };
    const found = await probeIdmappedMounts(native, dir);
    expect(found.idmappedMounts).to.equal(false);
    expect(found.reason).to.match(/EINVAL/);
    expect(readdirSync(dir)).to.deep.equal([]);
  });

  it('says no when the mount does not shift ids (a mount that only pretends)', async () => {
    const native = {
      mount: async () => undefined,
      unmount: async () => undefined,
      idmapMount: (src: string, dst: string) => copyFile(path.join(src, 'owned-by-root'), path.join(dst, 'owned-by-root')),
    };
    const found = await probeIdmappedMounts(native, dir);
    expect(found.idmappedMounts).to.equal(false);
    expect(found.reason).to.match(new RegExp(`showed uid ${process.getuid?.()} instead of`));
    expect(readdirSync(dir)).to.deep.equal([]);
  });
});
