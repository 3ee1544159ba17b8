import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadNativeBinding } from './addon';

describe('native readFiles', () => {
  it('reads every file in one call (large ones across chunks, cut at maxBytes); unreadable ones are undefined', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-readfiles-'));
    try {
      fs.writeFileSync(path.join(dir, 'a'), '42\n');
      fs.writeFileSync(path.join(dir, 'big'), 'y'.repeat(20_000));
      fs.mkdirSync(path.join(dir, 'd'));
      const native = loadNativeBinding();
      const out = await native.readFiles([path.join(dir, 'a'), path.join(dir, 'missing'), path.join(dir, 'big'), path.join(dir, 'd'), '/proc/self/stat'], 16_384);
      expect(out[0]).to.equal('42\n');
      expect(out[1]).to.equal(undefined);
      expect(out[2]).to.equal('y'.repeat(16_384));
      expect(out[3], 'a directory cannot be read').to.equal(undefined);
      expect(out[4]).to.match(/^\d+ \(/);
      const bad = await Promise.resolve()
        .then(() => native.readFiles([1 as unknown as string], 10))
        .then(() => 'resolved', (err: Error) => err.message);
      expect(bad).to.match(/paths must be an array of strings/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
