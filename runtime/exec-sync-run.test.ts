import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseProcStat } from '../common/proc-stat';
import { runcExecSync, type RuncExecSyncOptions } from './exec-sync-run';

/**
 * A stand-in for `runc exec` with runc's output behaviour: the command leads a new session (runc's
 * init calls setsid), its stdout and stderr are pipes that are copied on (here by two cats), and
 * the exit status comes only once both pipes reach EOF. The command is `sh <process file>.sh`.
 */
const FAKE_RUNC = `#!/bin/sh
while [ $# -gt 0 ]; do case "$1" in --process) P=$2; shift;; --pid-file) F=$2; shift;; esac; shift; done
{ { setsid -w sh -c 'echo $$ > "$0"; exec sh "$1"' "$F" "$P.sh"; echo $? > "$F.status"; } 2>&1 1>&3 3>&- | cat >&2 3>&-; } 3>&1 | cat
exit "$(cat "$F.status")"
`;

/** Live processes whose command line contains `marker`. */
async function processesWith(marker: string): Promise<number[]> {
  const out: number[] = [];
  for (const name of await fs.readdir('/proc')) {
    if (!/^[0-9]+$/.test(name)) continue;
    const cmdline = await fs.readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '');
    const stat = await fs.readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    if (cmdline.includes(marker) && !cmdline.includes('sh\0-c') && parseProcStat(stat)?.state !== 'Z') out.push(Number(name));
  }
  return out;
}

describe('runtime/exec-sync-run (with a runc stand-in)', function () {
  this.timeout(20_000);
  let dir: string;
  let script: string;

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-execsync-'));
    script = path.join(dir, 'fake-runc');
    await fs.writeFile(script, FAKE_RUNC, { mode: 0o755 });
  });
  after(async () => {
    for (const pid of await processesWith(`${dir}`)) process.kill(pid, 'SIGKILL');
    await fs.rm(dir, { recursive: true, force: true });
  });

  async function run(shellScript: string, extra: Partial<RuncExecSyncOptions> = {}) {
    const tag = randomBytes(3).toString('hex');
    const processFile = path.join(dir, `process-${tag}.json`);
    const pidFile = path.join(dir, `pid-${tag}`);
    await fs.writeFile(`${processFile}.sh`, shellScript);
    const t0 = Date.now();
    const r = await runcExecSync({ binary: script, args: ['exec', '--process', processFile, '--pid-file', pidFile, 'ctr'], pidFile, maxOutputBytes: 1 << 20, scope: {}, ...extra });
    return { ...r, ms: Date.now() - t0 };
  }

  it('answers when the command exits although a background child holds stdout: output so far, the real exit code', async () => {
    const marker = `99${randomBytes(2).readUInt16BE()}`;
    // alive at the first look, so its own output pipes are what holders are matched against
    const r = await run(`sleep ${marker} & echo started; sleep 0.2; exit 4`);
    expect(r.stdout.toString()).to.equal('started\n');
    expect(r.exit.exitCode).to.equal(4);
    // the holder sleeps for days: any answer within seconds shows it was not waited for (loose bound for loaded machines)
    expect(r.ms).to.be.within(200, 6000);
    expect(r.outputHoldersKilled).to.equal(1);
    expect(await processesWith(`sleep\0${marker}`)).to.deep.equal([]);
  });

  it('leaves a background child running when it does not hold the output', async () => {
    const marker = `98${randomBytes(2).readUInt16BE()}`;
    const r = await run(`sleep ${marker} >/dev/null 2>&1 & echo started`);
    expect(r).to.deep.include({ timedOut: false, outputHoldersKilled: 0 });
    expect(r.exit.exitCode).to.equal(0);
    const left = await processesWith(`sleep\0${marker}`);
    expect(left).to.have.length(1);
    process.kill(left[0], 'SIGKILL');
  });

  it('on a timeout kills the session, a setsid child and the output holders, and they are gone before it returns', async () => {
    const marker = `97${randomBytes(2).readUInt16BE()}`;
    const r = await run(`sleep ${marker} & setsid sleep ${marker} & sleep ${marker} >/dev/null & sleep ${marker}`, { timeoutMs: 400 });
    expect(r.timedOut).to.equal(true);
    expect(r.leftovers).to.equal(false);
    expect(r.ms).to.be.within(350, 6000);
    expect(await processesWith(`sleep\0${marker}`)).to.deep.equal([]);
  });

  it('caps stdout and stderr together; bytes beyond are read and dropped', async () => {
    // the pause lets the 600 stdout bytes be read before stderr floods (two pipes have no order of their own)
    const r = await run('head -c 600 /dev/zero; sleep 0.3; yes e | head -c 3000000 >&2; yes | head -c 3000000', { maxOutputBytes: 1000 });
    expect(r.stdout.length + r.stderr.length).to.equal(1000);
    expect(r.stdout.length).to.be.at.least(600);
    expect(r.exit.exitCode).to.equal(0);
  });
});
