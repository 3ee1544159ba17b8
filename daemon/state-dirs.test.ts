import { expect } from 'chai';
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { createLogger } from '../common/logger';
import { secureStateDirs } from './state-dirs';
import { tempDirEach } from '../common/testing/temp-dir-fixtures';

describe('daemon/state-dirs', () => {
  let dir: string;
  tempDirEach('berth-state-', (d) => (dir = d));

  it('makes root, run root, run root pods and runtime roots 0700, logging the changes in one line', async () => {
    const root = path.join(dir, 'root');
    const runRoot = path.join(dir, 'run');
    mkdirSync(root);
    chmodSync(root, 0o711);
    mkdirSync(path.join(runRoot, 'pods'), { recursive: true });
    chmodSync(runRoot, 0o755);
    chmodSync(path.join(runRoot, 'pods'), 0o711);
    const lines: string[] = [];
    const logger = createLogger({ level: 'debug', sink: (l) => lines.push(l) });
    await secureStateDirs({ root, runRoot, cniCacheDir: '', runtimes: { runc: { path: 'runc' } } }, logger);
    for (const d of [root, runRoot, path.join(runRoot, 'pods'), path.join(runRoot, 'runtimes', 'runc')]) {
      expect((statSync(d).mode & 0o777).toString(8), d).to.equal('700');
    }
    expect(lines).to.have.length(1);
    expect(lines[0]).to.include('tightened state directory permissions').and.include('"from":"711"').and.include('"from":"755"');
    lines.length = 0;
    await secureStateDirs({ root, runRoot, cniCacheDir: '', runtimes: {} }, logger);
    expect(lines).to.deep.equal([]);
  });
});
