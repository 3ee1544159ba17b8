import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InvalidArgumentError } from './errors';
import { isRunning, kibField, parseProcStat, parseProcStatOrThrow, parseProcStatus, readProcStat, readProcStatSync, readProcStatusSync } from './proc-stat';

describe('common/proc-stat', () => {
  it('splits the fields after the last parenthesis (a command name may hold spaces and parentheses)', () => {
    const stat = parseProcStat('42 (a) (b) S 7 42 40 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 12345 0 0');
    expect(stat).to.deep.equal({ pid: 42, comm: 'a) (b', state: 'S', ppid: 7, session: 40, utime: 0, stime: 0, cutime: 0, cstime: 0, startTime: 12345 });
    expect(parseProcStat('garbage')).to.equal(undefined);
    expect(parseProcStat('1 (x) S 0')).to.equal(undefined);
  });

  it('reads the CPU times (fields 14-17); the strict parser names the field that is missing or not a number', () => {
    const line = '9 (c) R 1 9 9 0 -1 0 0 0 0 0 150 25 300 40 20 0 1 0 777 0 0\n';
    expect(parseProcStatOrThrow(line)).to.include({ utime: 150, stime: 25, cutime: 300, cstime: 40, startTime: 777 });
    expect(() => parseProcStatOrThrow('garbage')).to.throw(InvalidArgumentError, /no \(comm\)/);
    expect(() => parseProcStatOrThrow('x (c) R 1')).to.throw(InvalidArgumentError, /field 1 \(pid\)/);
    expect(() => parseProcStatOrThrow('9 (c) R 1 9 9 0 -1 0 0 0 0 0')).to.throw(InvalidArgumentError, /field 14 \(utime\) is missing/);
    expect(() => parseProcStatOrThrow(line.replace(' 25 ', ' 2x5 '))).to.throw(InvalidArgumentError, /field 15 \(stime\) is "2x5"/);
    expect(parseProcStat(line.replace(' 300 ', ' - '))).to.equal(undefined);
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

  it('parses status lines into fields, sizes in KiB, and reads this process', () => {
    const fields = parseProcStatus('Name:\tpause\nVmRSS:\t  1234 kB\nCapBnd:\t0000000000000000\nSeccomp:\t2\n');
    expect([...fields]).to.deep.equal([['Name', 'pause'], ['VmRSS', '1234 kB'], ['CapBnd', '0000000000000000'], ['Seccomp', '2']]);
    expect(kibField(fields, 'VmRSS')).to.equal(1234);
    expect(kibField(fields, 'Name')).to.equal(undefined);
    expect(kibField(fields, 'VmHWM')).to.equal(undefined);
    const self = readProcStatusSync('self');
    expect(self?.get('Pid')).to.equal(String(process.pid));
    expect(kibField(readProcStatusSync(process.pid)!, 'VmRSS')).to.be.greaterThan(1000);
    expect(readProcStatusSync(2 ** 22 + 1)).to.equal(undefined);
  });
});
