import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { DiskUsageCache, directoryUsage, type DiskUsage } from './disk-usage';
import { tempDirEach } from '../common/testing/temp-dir-fixtures';

describe('runtime/disk-usage: the writable-layer walk', function () {
  this.timeout(20_000);
  let dir: string;

  tempDirEach('berth-du-', (d) => (dir = d));

  it('never follows a symlink: a loop to itself and a link to / count as the links alone', async () => {
    await fs.mkdir(path.join(dir, 'd'));
    await fs.writeFile(path.join(dir, 'd', 'f'), Buffer.alloc(8192));
    await fs.symlink('.', path.join(dir, 'd', 'loop'));
    await fs.symlink('..', path.join(dir, 'd', 'up'));
    await fs.symlink('/', path.join(dir, 'root'));
    const t0 = Date.now();
    const u = await directoryUsage(dir);
    expect(u).to.include({ inodes: 5, partial: false }); // d, f, loop, up, root
    expect(u.bytes).to.be.below(64 * 1024);
    expect(Date.now() - t0).to.be.below(1000);
  });

  it('stops at the entry bound inside one big directory and says the result is partial', async () => {
    const big = path.join(dir, 'big');
    await fs.mkdir(big);
    for (let i = 0; i < 3000; i += 500) await Promise.all(Array.from({ length: 500 }, (_, j) => fs.writeFile(path.join(big, `f${i + j}`), '')));
    const u = await directoryUsage(dir, { maxEntries: 1000 });
    expect(u).to.include({ inodes: 1000, partial: true });
    const all = await directoryUsage(dir);
    expect(all).to.include({ inodes: 3001, partial: false });
  });

  it('stops at the time bound', async () => {
    for (let i = 0; i < 200; i++) await fs.writeFile(path.join(dir, `f${i}`), '');
    const u = await directoryUsage(dir, { maxMs: -1 });
    expect(u).to.include({ partial: true });
    expect(u.inodes).to.be.below(200);
  });

  it('walks once per period: a second call (and a concurrent one) reuse the walk; after the period it walks again', async () => {
    let walks = 0;
    let now = 1_000;
    const cache = new DiskUsageCache({
      periodMs: 10_000,
      now: () => now,
      walk: async (d, limits) => {
        walks++;
        return directoryUsage(d, limits);
      },
    });
    await fs.writeFile(path.join(dir, 'a'), 'x');
    const [first, concurrent] = await Promise.all([cache.usage(dir), cache.usage(dir)]);
    expect(walks).to.equal(1);
    expect(concurrent).to.deep.equal(first);
    await fs.writeFile(path.join(dir, 'b'), 'x');
    now += 9_999;
    const cached: DiskUsage = await cache.usage(dir);
    expect(walks).to.equal(1);
    expect(cached.inodes).to.equal(1);
    now += 1;
    expect((await cache.usage(dir)).inodes).to.equal(2);
    expect(walks).to.equal(2);
  });
});
