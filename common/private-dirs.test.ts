import { expect } from 'chai';
import { chmodSync, mkdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { ensurePrivateDir, ensurePrivateDirs } from './private-dirs';
import { tempDirEach } from './testing/temp-dir-fixtures';

const modeOf = (p: string): number => statSync(p).mode & 0o7777;

describe('common/private-dirs', () => {
  let dir: string;
  tempDirEach('berth-private-', (d) => (dir = d));

  it('creates missing directories 0700 whatever the umask', async () => {
    const old = process.umask(0);
    try {
      expect(await ensurePrivateDir(path.join(dir, 'a', 'b'))).to.equal(undefined);
    } finally {
      process.umask(old);
    }
    expect(modeOf(path.join(dir, 'a', 'b'))).to.equal(0o700);
  });

  it('tightens existing wide directories and reports each change; leaves tight ones and files alone', async () => {
    const wide = path.join(dir, 'wide');
    const sticky = path.join(dir, 'sticky');
    const tight = path.join(dir, 'tight');
    mkdirSync(wide);
    chmodSync(wide, 0o755);
    mkdirSync(sticky);
    chmodSync(sticky, 0o1777);
    mkdirSync(tight, { mode: 0o700 });
    writeFileSync(path.join(dir, 'file'), '');
    chmodSync(path.join(dir, 'file'), 0o644);
    const changes = await ensurePrivateDirs([wide, sticky, tight, path.join(dir, 'file')]);
    expect(changes).to.deep.equal([
      { path: wide, from: '755', to: '700' },
      { path: sticky, from: '1777', to: '1700' },
    ]);
    expect(modeOf(wide)).to.equal(0o700);
    expect(modeOf(tight)).to.equal(0o700);
    expect(modeOf(path.join(dir, 'file'))).to.equal(0o644);
  });

  it('follows a symlinked state root to its directory', async () => {
    const real = path.join(dir, 'real');
    mkdirSync(real, { mode: 0o711 });
    chmodSync(real, 0o711);
    symlinkSync(real, path.join(dir, 'link'));
    expect(await ensurePrivateDir(path.join(dir, 'link'))).to.deep.equal({ path: path.join(dir, 'link'), from: '711', to: '700' });
    expect(modeOf(real)).to.equal(0o700);
  });
});
