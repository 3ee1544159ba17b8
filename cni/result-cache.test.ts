import { expect } from 'chai';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ResultCache } from './result-cache';

describe('cni/result-cache', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'berth-result-cache-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('init deletes the temp file of a write a crash interrupted, and keeps every record', async () => {
    writeFileSync(path.join(dir, 'pod-a.json'), '{"version":1,"podId":"pod-a","state":"adding"}');
    writeFileSync(path.join(dir, '.pod-a.json.tmp-4242-7'), '{"version":1,"podId":"pod-a","state":"added"}');
    const cache = new ResultCache(dir);
    await cache.init();
    expect(readdirSync(dir)).to.deep.equal(['pod-a.json']);
    expect(await cache.list()).to.deep.equal(['pod-a']);
    expect((await cache.read('pod-a'))?.state).to.equal('adding');
  });
});
