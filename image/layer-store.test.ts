import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { chainIds, LayerStore } from './layer-store';
import { mapLimit } from './image-storage';
import { tempDirEach } from '../common/testing/temp-dir-fixtures';
import { rejection } from '../common/testing/rejection-fixtures';

const d = (c: string): string => 'sha256:' + c.repeat(64);

describe('image/layer-store', () => {
  let dir: string;
  tempDirEach('berth-ls-', (d) => (dir = d));

  it('computes chain IDs as the image spec defines them', () => {
    const ids = chainIds([d('a'), d('b'), d('c')]);
    expect(ids[0]).to.equal(d('a'));
    const second = 'sha256:' + createHash('sha256').update(`${d('a')} ${d('b')}`).digest('hex');
    expect(ids[1]).to.equal(second);
    expect(ids[2]).to.equal('sha256:' + createHash('sha256').update(`${second} ${d('c')}`).digest('hex'));
  });

  it('stores a layer once behind a short link and reloads it', async () => {
    const store = new LayerStore(dir);
    await store.init();
    let fills = 0;
    const fill = async (diff: string): Promise<{ diffId: string; size: number }> => {
      fills++;
      await new Promise((r) => setTimeout(r, 10));
      await fs.writeFile(path.join(diff, 'f'), 'x');
      return { diffId: d('a'), size: 1 };
    };
    const [m1, m2] = await Promise.all([store.ensure(d('a'), d('a'), undefined, fill), store.ensure(d('a'), d('a'), undefined, fill)]);
    expect(fills).to.equal(1);
    expect(m1).to.equal(m2);
    expect(m1.link).to.match(/^[A-Z0-9]{6}$/);
    expect(await fs.readFile(path.join(store.linkPath(m1), 'f'), 'utf8')).to.equal('x');
    const again = new LayerStore(dir);
    await again.init();
    expect(again.get(d('a'))?.link).to.equal(m1.link);
    await again.remove(d('a'));
    expect(await fs.readdir(path.join(dir, 'l'))).to.deep.equal([]);
    expect(await fs.readdir(path.join(dir, 'layers'))).to.deep.equal([]);
    await again.removalsSettled();
    expect(await fs.readdir(path.join(dir, 'tmp'))).to.deep.equal([]);
  });

  it('remove answers before the layer files are deleted; they wait in tmp/, which the next init empties', async () => {
    const store = new LayerStore(dir);
    await store.init();
    const fill = async (diff: string) => {
      await fs.mkdir(path.join(diff, 'bin'));
      await Promise.all(Array.from({ length: 2000 }, (_, i) => fs.symlink('busybox', path.join(diff, 'bin', `tool${i}`))));
      return { diffId: d('a'), size: 2000 };
    };
    await store.ensure(d('a'), d('a'), undefined, fill);
    await store.remove(d('a'));
    expect(store.get(d('a'))).to.equal(undefined);
    expect(await fs.readdir(path.join(dir, 'layers'))).to.deep.equal([]);
    const trash = await fs.readdir(path.join(dir, 'tmp'));
    expect(trash, 'the renamed layer, still being deleted').to.have.length(1);
    expect(trash[0]).to.match(/^removed-/);
    await store.removalsSettled();
    expect(await fs.readdir(path.join(dir, 'tmp'))).to.deep.equal([]);
    // A crash before the deletion finished leaves the renamed layer: the next start empties tmp/.
    await fs.mkdir(path.join(dir, 'tmp', 'removed-0123456789abcdef-00000000', 'diff'), { recursive: true });
    const restarted = new LayerStore(dir);
    await restarted.init();
    expect(await fs.readdir(path.join(dir, 'tmp'))).to.deep.equal([]);
    // The same layer can be unpacked again.
    const again = await restarted.ensure(d('a'), d('a'), undefined, fill);
    expect((await fs.readdir(path.join(restarted.diffPath(again.chainId), 'bin'))).length).to.equal(2000);
  });

  it('refuses a layer whose content has another DiffID and leaves nothing', async () => {
    const store = new LayerStore(dir);
    await store.init();
    const caught = await rejection(store.ensure(d('a'), d('a'), undefined, async () => ({ diffId: d('b'), size: 0 })));
    expect(String(caught)).to.match(/uncompressed content has digest/);
    expect(store.get(d('a'))).to.equal(undefined);
    expect(await fs.readdir(path.join(dir, 'tmp'))).to.deep.equal([]);
    expect(await fs.readdir(path.join(dir, 'l'))).to.deep.equal([]);
    expect(await fs.readdir(path.join(dir, 'layers'))).to.deep.equal([]);
  });

  it('mapLimit keeps at most N running and fails fast', async () => {
    let running = 0;
    let peak = 0;
    const out = await mapLimit([1, 2, 3, 4, 5, 6, 7], 3, async (x) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
      return x * 2;
    });
    expect(out).to.deep.equal([2, 4, 6, 8, 10, 12, 14]);
    expect(peak).to.equal(3);
    let started = 0;
    let caught: unknown;
    try {
      await mapLimit([1, 2, 3, 4, 5, 6], 2, async (x) => {
        started++;
        if (x === 1) throw new Error('boom');
        await new Promise((r) => setTimeout(r, 5));
      });
    } catch (err) {
      caught = err;
    }
    expect(String(caught)).to.match(/boom/);
    expect(started).to.be.lessThan(6);
  });
});
