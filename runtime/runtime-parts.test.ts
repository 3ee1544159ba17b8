import { expect } from 'chai';
import { linkSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { InvalidArgumentError, errorKindOf } from '../common/errors';
import { parseFlatKeyed } from './cgroup-stats';
import { directoryUsage } from './disk-usage';
import { conmonArgs, parseSyncMessage } from './conmon';
import { RuncDriver } from './oci-driver/runc-driver';
import { ExitWaiters, readExitFile } from './exit-watcher';
import { containerLogPath } from './log-path';
import { runcError, runcMessage } from './runc-errors';
import { runCommand } from './run-command';
import { stopSignalName } from './runtime-helpers';
import { parseNetDev } from './pod-stats';

describe('runtime/runc-errors', () => {
  const rows: Array<[string, string, string | undefined]> = [
    ['time="2026-11-25T08:36:18Z" level=error msg="container does not exist"', 'container does not exist', 'NotFound'],
    ['time="x" level=error msg="cannot start a container that has stopped"', 'cannot start a container that has stopped', 'FailedPrecondition'],
    ['time="x" level=error msg="exec failed: cannot exec in a stopped container"', 'exec failed: cannot exec in a stopped container', 'FailedPrecondition'],
    ['time="x" level=error msg="container not running"', 'container not running', 'FailedPrecondition'],
    ['time="x" level=error msg="runc run failed: unable to start container process: exec: \\"nope\\": executable file not found in $PATH"', 'runc run failed: unable to start container process: exec: "nope": executable file not found in $PATH', 'InvalidArgument'],
    ['time="x" level=error msg="runc create failed: unable to start container process: exec: \\"/no/such\\": stat /no/such: no such file or directory"', 'runc create failed: unable to start container process: exec: "/no/such": stat /no/such: no such file or directory', 'InvalidArgument'],
    ['{"level":"error","msg":"unable to apply caps: operation not permitted","time":"x"}', 'unable to apply caps: operation not permitted', 'Internal'],
    ['plain failure text\n', 'plain failure text', 'Internal'],
  ];
  for (const [out, msg, kind] of rows) {
    it(`parses ${JSON.stringify(msg)} as ${kind}`, () => {
      expect(runcMessage(out)).to.equal(msg);
      const err = runcError('start', 'c1', out, 1);
      expect(errorKindOf(err)).to.equal(kind);
      expect(err.message).to.contain('runc start c1');
    });
  }
});

describe('runtime/conmon', () => {
  it('builds the argv with the runtime root, exit dir, k8s-file log and stdio flags', () => {
    const args = conmonArgs({
      conmonPath: '/usr/bin/conmon', runtimePath: '/usr/sbin/runc', runtimeArgs: new RuncDriver('/usr/sbin/runc', '/run/berth/runc/runc').conmonRuntimeArgs(), containerId: 'c1',
      bundleDir: '/b', containerPidFile: '/d/pidfile', conmonPidFile: '/d/conmon.pid', exitDir: '/run/berth/exits', persistDir: '/d',
      logPath: '/var/log/pods/p/c/0.log', socketDir: '/run/berth/sockets', stdin: true, stdinOnce: false, tty: true, logSizeMax: 1000,
    });
    const after = (flag: string) => args[args.indexOf(flag) + 1];
    expect(after('--api-version')).to.equal('1');
    expect(after('-r')).to.equal('/usr/sbin/runc');
    // the OCI driver's global flags, each one --runtime-arg value, right after the runtime path
    expect(args.slice(args.indexOf('/usr/sbin/runc') + 1, args.indexOf('/usr/sbin/runc') + 5)).to.deep.equal(['--runtime-arg', '--root=/run/berth/runc/runc', '--runtime-arg', '--log-format=json']);
    expect(after('-l')).to.equal('k8s-file:/var/log/pods/p/c/0.log');
    expect(after('--exit-dir')).to.equal('/run/berth/exits');
    expect(after('--persist-dir')).to.equal('/d');
    expect(after('--log-size-max')).to.equal('1000');
    expect(args).to.include.members(['-t', '-i', '--leave-stdin-open']);
  });
  it('parses sync-pipe messages', () => {
    expect(parseSyncMessage('{"data": 4242}')).to.deep.equal({ pid: 4242, message: undefined });
    expect(parseSyncMessage('{"data": -1, "message": "runc create failed"}')).to.deep.equal({ pid: -1, message: 'runc create failed' });
    expect(parseSyncMessage('garbage').pid).to.equal(-1);
  });
});

describe('runtime/log-path', () => {
  const rows: Array<[string, string, string | RegExp]> = [
    ['/var/log/pods/ns_p_uid', 'app/0.log', '/var/log/pods/ns_p_uid/app/0.log'],
    ['/var/log/pods/ns_p_uid/', './app/./1.log', '/var/log/pods/ns_p_uid/app/1.log'],
    ['', 'app/0.log', ''],
    ['/var/log/pods/x', '', ''],
    ['/var/log/pods/x', '../y/0.log', /leaves/],
    ['/var/log/pods/x', 'app/../../y.log', /leaves/],
    ['/var/log/pods/x', 'app/../0.log', /leaves/],
    ['/var/log/pods/x', '/etc/passwd', /relative/],
    ['relative/dir', 'a.log', /not absolute/],
  ];
  for (const [dir, p, want] of rows) {
    it(`${JSON.stringify(dir)} + ${JSON.stringify(p)}`, () => {
      if (typeof want === 'string') expect(containerLogPath(dir, p)).to.equal(want);
      else expect(() => containerLogPath(dir, p)).to.throw(InvalidArgumentError, want);
    });
  }
});

describe('runtime/exit files, commands, helpers', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), 'berth-parts-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads exit files (absent, empty, code)', async () => {
    expect(await readExitFile(dir, 'c1')).to.equal(undefined);
    writeFileSync(path.join(dir, 'c1'), '');
    expect(await readExitFile(dir, 'c1')).to.equal(undefined);
    writeFileSync(path.join(dir, 'c1'), '137');
    const e = await readExitFile(dir, 'c1');
    expect(e).to.include({ id: 'c1', exitCode: 137 });
    expect(e!.finishedAtNs).to.be.greaterThan(Date.now() * 1e6 - 60e9);
  });

  it('ExitWaiters: notify wakes a waiter; a timeout answers false', async () => {
    const w = new ExitWaiters();
    let done = false;
    const p = w.waitFor('c', 5000, () => done, async () => undefined);
    setTimeout(() => {
      done = true;
      w.notify('c');
    }, 20);
    const t0 = Date.now();
    expect(await p).to.equal(true);
    expect(Date.now() - t0).to.be.below(1000);
    expect(await w.waitFor('d', 50, () => false, async () => undefined)).to.equal(false);
  });

  it('runCommand caps output per stream and kills on timeout', async () => {
    const big = await runCommand('/bin/sh', ['-c', 'head -c 100000 /dev/zero; head -c 10 /dev/zero >&2'], { maxOutputBytes: 1000 });
    expect(big.stdout.length).to.equal(1000);
    expect(big.stdoutTruncated).to.equal(true);
    expect(big.stderr.length).to.equal(10);
    expect(big.exitCode).to.equal(0);
    const t0 = Date.now();
    let hook = false;
    const slow = await runCommand('/bin/sleep', ['10'], { timeoutMs: 100, onTimeout: () => void (hook = true) });
    expect(slow.timedOut).to.equal(true);
    expect(hook).to.equal(true);
    expect(Date.now() - t0).to.be.below(3000);
  });

  it('parses /proc/net/dev without lo', () => {
    const text = [
      'Inter-|   Receive                                                |  Transmit',
      ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed',
      '    lo:     100       1    0    0    0     0          0         0      100       1    0    0    0     0       0          0',
      '  eth0:    5000      40    2    7    0     0          0         0     3000      30    1    5    0     0       0          0',
    ].join('\n');
    expect(parseNetDev(text)).to.deep.equal([{ name: 'eth0', rxBytes: 5000, rxErrors: 2, txBytes: 3000, txErrors: 1, rxPackets: 40, rxDropped: 7, txPackets: 30, txDropped: 5 }]);
  });

  it('stop signal names', () => {
    expect(stopSignalName('')).to.equal('TERM');
    expect(stopSignalName('SIGQUIT')).to.equal('QUIT');
    expect(stopSignalName('int')).to.equal('INT');
    expect(stopSignalName('9')).to.equal('9');
  });

  it('parses flat keyed cgroup files and measures a directory (hard links once)', async () => {
    expect(parseFlatKeyed('total_rss 4096\ntotal_inactive_file 10\nbogus x\n')).to.deep.equal({ total_rss: 4096, total_inactive_file: 10 });
    mkdirSync(path.join(dir, 'a'));
    writeFileSync(path.join(dir, 'a', 'f'), Buffer.alloc(10000));
    linkSync(path.join(dir, 'a', 'f'), path.join(dir, 'hard'));
    const u = await directoryUsage(dir);
    expect(u.inodes).to.equal(2); // a, f (hard link counted once)
    expect(u.bytes).to.be.at.least(10000);
  });
});
