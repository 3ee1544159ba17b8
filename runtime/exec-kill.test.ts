import { expect } from 'chai';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { killExecProcess } from './exec-kill';

describe('runtime/exec-kill', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-exec-kill-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('waits for a pid file runc writes late, then kills that process', async () => {
    const victim = spawn('sleep', ['30'], { stdio: 'ignore' });
    const died = new Promise<NodeJS.Signals | null>((r) => victim.once('exit', (_c, sig) => r(sig)));
    const pidFile = path.join(dir, 'pid');
    setTimeout(() => fs.writeFileSync(pidFile, String(victim.pid)), 150);
    const started = Date.now();
    await killExecProcess(pidFile, () => true);
    expect(Date.now() - started).to.be.greaterThanOrEqual(100);
    expect(await died).to.equal('SIGKILL');
  });

  it('gives up at once when runc is gone without a pid file, and after waitMs while it runs', async () => {
    const pidFile = path.join(dir, 'pid');
    let started = Date.now();
    await killExecProcess(pidFile, () => false);
    expect(Date.now() - started).to.be.lessThan(100);
    started = Date.now();
    await killExecProcess(pidFile, () => true, 200);
    expect(Date.now() - started).to.be.within(180, 1000);
  });

  it('is quiet when the process named in the file is already gone', async () => {
    const pidFile = path.join(dir, 'pid');
    fs.writeFileSync(pidFile, String(0x7ffffff0)); // above pid_max: no such process
    await killExecProcess(pidFile, () => true);
  });
});
