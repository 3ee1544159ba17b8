import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isRunning, parseProcStat, readProcStat, readProcStatSync } from './proc-stat';

describe('common/proc-stat', () => {
  it('splits the fields after the last parenthesis (a command name may hold spaces and parentheses)', () => {
    const stat = parseProcStat('42 (a) (b) S 7 42 40 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 12345 0 0');
    expect(stat).to.deep.equal({ pid: 42, comm: 'a) (b', state: 'S', ppid: 7, session: 40, startTime: 12345 });
    expect(parseProcStat('garbage')).to.equal(undefined);
    expect(parseProcStat('1 (x) S 0')).to.equal(undefined);
  });

  it('reads this process, synchronously and not, and nothing for a pid that is gone', async () => {
    const mine = await readProcStat(process.pid);
    expect(mine).to.include({ pid: process.pid, ppid: process.ppid });
    expect(isRunning(mine)).to.equal(true);
    expect(readProcStatSync(process.pid)?.startTime).to.equal(mine?.startTime);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-proc-'));
    try {
      expect(await readProcStat(99, dir)).to.equal(undefined);
      expect(readProcStatSync(99, dir)).to.equal(undefined);
      fs.mkdirSync(path.join(dir, '99'));
      fs.writeFileSync(path.join(dir, '99', 'stat'), '99 (conmon) Z 1 99 99 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 777 0 0');
      const zombie = readProcStatSync(99, dir);
      expect(zombie).to.include({ comm: 'conmon', state: 'Z', startTime: 777 });
      expect(isRunning(zombie)).to.equal(false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
