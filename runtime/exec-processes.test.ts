import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { scopeProcesses } from './exec-processes';

describe('runtime/exec-processes: the scope of a scan', () => {
  it('a scope with findProcsFile lists only the processes of the file it finds, looking it up per scan', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-scope-'));
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const procs = path.join(dir, 'cgroup.procs');
      await fs.writeFile(procs, `${child.pid}\n`);
      let lookups = 0;
      const found = await scopeProcesses({ findProcsFile: async () => (lookups++, procs) });
      expect(found.map((p) => p.pid)).to.deep.equal([child.pid]);
      expect(lookups).to.equal(1);
      // nothing found: all of /proc, as without a procs file
      const all = await scopeProcesses({ findProcsFile: async () => undefined });
      expect(all.map((p) => p.pid)).to.include.members([process.pid, child.pid!]);
    } finally {
      child.kill('SIGKILL');
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
