/**
 * startPause and watchExit against the kernel as root: pause runs in new net/ipc/uts/pid
 * namespaces as PID 1 there, unprivileged (uid/gid 65535, no capabilities, no_new_privs), inside
 * the given cgroups, with the hostname and sysctls applied inside its namespaces only; it is not
 * our child; a bind mount pins its netns beyond its life; it reaps orphans; failures name the step.
 * Every pause, pin, cgroup and temp dir is removed in after hooks.
 */
import { expect } from 'chai';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { loadNativeBinding, pauseExecutablePath } from '../../native/addon';
import { NativeError, type NativeBinding, type PauseSpec } from '../../native/binding';
import { procStatus, sleep, waitFor } from './support/wait';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The state letter of a process that may be a zombie (undefined when gone). */
function exited(pid: number): boolean {
  const state = processState(pid);
  return state === undefined || state === 'Z';
}

function processState(pid: number): string | undefined {
  try {
    return procStatus(pid).get('State')?.charAt(0);
  } catch {
    return undefined;
  }
}

function childrenOf(pid: number): number[] {
  const result: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (procStatus(Number(entry)).get('PPid') === String(pid)) result.push(Number(entry));
    } catch {
      // raced with an exit
    }
  }
  return result;
}

const unique = `${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

describe('native addon (e2e, root): startPause and watchExit', function () {
  let native: NativeBinding;
  let tmp: string;
  const pids = new Set<number>();
  const pins: string[] = [];
  const cgroups: string[] = [];

  before(function () {
    expect(process.getuid?.(), 'these tests need root').to.equal(0);
    native = loadNativeBinding();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-native-pause-'));
  });

  after(async () => {
    for (const pin of pins) {
      try {
        await native.unmount(pin, ['detach']);
      } catch {
        // already unmounted by the test
      }
    }
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    for (const pid of pids) await waitFor(() => exited(pid), `pause ${pid} exited`).catch(() => undefined);
    for (const dir of cgroups.reverse()) {
      await waitFor(() => !fs.existsSync(dir) || fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').trim() === '', `cgroup ${dir} empty`).catch(() => undefined);
      if (fs.existsSync(dir)) fs.rmdirSync(dir);
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  let cgroupCount = 0;
  function makeCgroup(controller: string): string {
    const dir = path.join('/sys/fs/cgroup', controller, `berth-native-test-${unique}-${cgroupCount++}`);
    fs.mkdirSync(dir);
    cgroups.push(dir);
    return dir;
  }

  function spec(overrides: Partial<PauseSpec> = {}): PauseSpec {
    return {
      executable: pauseExecutablePath(),
      namespaces: ['net', 'ipc', 'uts', 'pid'],
      hostname: 'berth-pod',
      uid: 65535,
      gid: 65535,
      cgroupProcs: [],
      sysctls: {},
      ...overrides,
    };
  }

  async function start(overrides: Partial<PauseSpec> = {}): Promise<number> {
    const { pid } = await native.startPause(spec(overrides));
    pids.add(pid);
    return pid;
  }

  it('pause --version prints its version', () => {
    expect(execFileSync(pauseExecutablePath(), ['--version']).toString()).to.match(/^berth-pause \d+\.\d+\.\d+\n$/);
  });

  it('pause itself: not dumpable, no_new_privs and seccomp before its readiness byte; exits 0 on SIGTERM and SIGINT', async () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      // Run directly as root: pause sets no_new_privs itself (seccomp needs it without CAP_SYS_ADMIN).
      const child = spawn(pauseExecutablePath(), [], { env: { BERTH_PAUSE_READY_FD: '3' }, stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
      pids.add(child.pid!); // killed by the after hook if an assertion fails first
      const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const ready = child.stdio[3] as NodeJS.ReadableStream;
      const byte = await new Promise<string>((resolve) => ready.once('data', (d: Buffer) => resolve(d.toString())));
      expect(byte).to.equal('r');
      const fields = procStatus(child.pid!);
      expect(fields.get('Seccomp'), 'filter installed before the readiness byte').to.equal('2');
      expect(fields.get('NoNewPrivs')).to.equal('1');
      expect(fields.get('CapEff')).to.equal('0000000000000000');
      expect(fs.statSync(`/proc/${child.pid}/environ`).uid).to.equal(0);
      child.kill(signal);
      expect(await exit, signal).to.equal(0);
    }
  });

  it("pause's seccomp filter: EPERM outside the allow-list, write only on the readiness fd, a foreign ABI killed", async () => {
    // Built from pause.c itself (its install_seccomp), so the filter under test is the shipped one.
    const probe = path.join(tmp, 'pause-filter-probe');
    execFileSync('gcc', ['-static', '-O1', '-o', probe, path.resolve(__dirname, '../../../test/e2e/pause-filter-probe.c')]);
    const child = spawn(probe, [], { stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
    let output = '';
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => (output += d.toString()));
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.once('close', (c, s) => resolve([c, s])));
    expect(output).to.equal(['getpid=-1/1', 'openat=-1/1', 'dup=-1/1', 'write-stdout=-1/1', 'wait4=-1/10', 'rt_sigprocmask=0/0', ''].join('\n'));
    // SECCOMP_RET_KILL_PROCESS: the i386 getpid never returned (the probe tries it on x86_64 only).
    expect([code, signal]).to.deep.equal(process.arch === 'x64' ? [null, 'SIGSYS'] : [0, null]);
  });

  it('names the failed step when the executable is missing (opened before pause leaves the host filesystem)', async () => {
    const missing = path.join(tmp, 'no-such-pause');
    try {
      await native.startPause(spec({ executable: missing }));
      expect.fail('startPause resolved');
    } catch (error) {
      expect((error as NativeError).code).to.equal('ENOENT');
      expect((error as NativeError).message).to.equal(`start pause: open ${missing}: ENOENT (No such file or directory)`);
    }
  });

  it('starts pause unprivileged in new namespaces with hostname, sysctls and cgroups applied inside', async () => {
    const pidsCgroup = makeCgroup('pids');
    const cpuCgroup = makeCgroup('cpu');
    // The cgroup v2 hierarchy of a hybrid host (this VM); pure v1 hosts test v1 only.
    const unifiedCgroup = fs.existsSync('/sys/fs/cgroup/unified/cgroup.procs') ? makeCgroup('unified') : undefined;
    const hostPortStart = fs.readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim();
    const hostMsgmax = fs.readFileSync('/proc/sys/kernel/msgmax', 'utf8').trim();
    const wantedMsgmax = hostMsgmax === '12345' ? '12346' : '12345';
    const logFile = path.join(tmp, 'pause.log');
    const started = Date.now();
    const pid = await start({
      hostname: `pod-${unique}`.slice(0, 63),
      sysctls: { 'net.ipv4.ip_unprivileged_port_start': '0', 'kernel.msgmax': wantedMsgmax },
      cgroupProcs: [pidsCgroup, cpuCgroup, unifiedCgroup ?? []].flat().map((dir) => path.join(dir, 'cgroup.procs')),
      logFile,
    });
    expect(Date.now() - started).to.be.below(1000);
    expect(fs.readlinkSync(`/proc/${pid}/exe`)).to.equal(pauseExecutablePath());

    const fields = procStatus(pid);
    expect(fields.get('Uid')).to.equal('65535\t65535\t65535\t65535');
    expect(fields.get('Gid')).to.equal('65535\t65535\t65535\t65535');
    expect(fields.get('Groups')).to.equal('');
    for (const cap of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) expect(fields.get(cap), cap).to.equal('0000000000000000');
    expect(fields.get('NoNewPrivs')).to.equal('1');
    expect(fields.get('PPid')).to.not.equal(String(process.pid));
    // PID 1 of its own pid namespace: NSpid lists the host pid, then 1.
    expect(fields.get('NSpid')).to.equal(`${pid}\t1`);

    for (const kind of ['net', 'ipc', 'uts', 'pid']) {
      expect(fs.readlinkSync(`/proc/${pid}/ns/${kind}`), kind).to.not.equal(fs.readlinkSync(`/proc/self/ns/${kind}`));
    }
    // Its own mount namespace, rooted at an empty read-only tmpfs: nothing of the host is in it.
    expect(fs.readlinkSync(`/proc/${pid}/ns/mnt`)).to.not.equal(fs.readlinkSync('/proc/self/ns/mnt'));
    expect(fs.readdirSync(`/proc/${pid}/root`)).to.deep.equal([]);
    const mounts = fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8').trim().split('\n');
    expect(mounts).to.have.length(1);
    expect(mounts[0]).to.match(/^\d+ \d+ \d+:\d+ \/ \/ ro,nosuid,nodev,noexec,relatime - tmpfs berth-pause ro,size=4k,nr_inodes=1,mode=555/);
    expect(fs.readlinkSync(`/proc/${pid}/cwd`)).to.equal('/');
    // Not dumpable (its /proc files belong to root), under a seccomp filter, named pause.
    expect(fs.statSync(`/proc/${pid}/environ`).uid).to.equal(0);
    expect(fields.get('Seccomp')).to.equal('2');
    expect(fields.get('Seccomp_filters')).to.equal('1');
    expect(fields.get('Name')).to.equal('pause');

    expect(execFileSync('nsenter', ['-t', String(pid), '-u', 'hostname']).toString().trim()).to.equal(`pod-${unique}`.slice(0, 63));
    expect(os.hostname()).to.not.equal(`pod-${unique}`.slice(0, 63));
    const inside = execFileSync('nsenter', ['-t', String(pid), '-n', 'cat', '/proc/sys/net/ipv4/ip_unprivileged_port_start']);
    expect(inside.toString().trim()).to.equal('0');
    expect(fs.readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim()).to.equal(hostPortStart);
    expect(execFileSync('nsenter', ['-t', String(pid), '-i', 'cat', '/proc/sys/kernel/msgmax']).toString().trim()).to.equal(wantedMsgmax);
    expect(fs.readFileSync('/proc/sys/kernel/msgmax', 'utf8').trim()).to.equal(hostMsgmax);

    expect(fs.readFileSync(path.join(pidsCgroup, 'cgroup.procs'), 'utf8').trim().split('\n')).to.deep.equal([String(pid)]);
    expect(fs.readFileSync(path.join(cpuCgroup, 'cgroup.procs'), 'utf8').trim().split('\n')).to.deep.equal([String(pid)]);
    if (unifiedCgroup) {
      expect(fs.readFileSync(path.join(unifiedCgroup, 'cgroup.procs'), 'utf8').trim().split('\n')).to.deep.equal([String(pid)]);
      expect(fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8')).to.contain(`0::${unifiedCgroup.slice('/sys/fs/cgroup/unified'.length)}\n`);
    }
    expect(fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8')).to.contain(`:pids:${pidsCgroup.slice('/sys/fs/cgroup/pids'.length)}\n`);
    expect(fs.existsSync(logFile)).to.equal(true);
    // Only stdio is open in pause: nothing of ours leaked through.
    expect(fs.readdirSync(`/proc/${pid}/fd`).sort()).to.deep.equal(['0', '1', '2']);
    // Compared by identity: the names are those of mounts detached from pause's namespace.
    expect(fs.statSync(`/proc/${pid}/fd/0`).rdev).to.equal(fs.statSync('/dev/null').rdev);
    expect(fs.statSync(`/proc/${pid}/fd/1`).ino).to.equal(fs.statSync(logFile).ino);

    process.kill(pid, 'SIGKILL');
    await waitFor(() => exited(pid), 'pause gone');
  });

  it('attaches a deny-all device filter to the given cgroup v2 dirs before pause joins them', async () => {
    // The v2 hierarchy: /sys/fs/cgroup/unified on a hybrid host (this VM), else /sys/fs/cgroup.
    const unified = fs.existsSync('/sys/fs/cgroup/unified/cgroup.procs') ? 'unified' : '';
    const cgroup = makeCgroup(unified);
    const pid = await start({ cgroupProcs: [path.join(cgroup, 'cgroup.procs')], denyDevicesCgroups: [cgroup] });
    expect(fs.readFileSync(path.join(cgroup, 'cgroup.procs'), 'utf8').trim()).to.equal(String(pid));
    // Any process of that cgroup is refused every device; outside it /dev/null opens.
    const script = `echo $$ > ${path.join(cgroup, 'cgroup.procs')} && exec cat /dev/null`;
    let refused = '';
    try {
      execFileSync('/bin/sh', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      refused = String((error as { stderr?: Buffer }).stderr);
    }
    expect(refused).to.equal('cat: /dev/null: Operation not permitted\n');
    expect(execFileSync('/bin/cat', ['/dev/null']).toString()).to.equal('');

    const missing = path.join(cgroup, 'no-such-child');
    try {
      await native.startPause(spec({ denyDevicesCgroups: [missing] }));
      expect.fail('startPause resolved');
    } catch (error) {
      expect((error as NativeError).message).to.equal(`start pause: attach a deny-all device filter to ${missing}: ENOENT (No such file or directory)`);
    }
  });

  it('pins the netns with a bind mount that outlives pause', async () => {
    const pid = await start({ namespaces: ['net'] });
    const pin = path.join(tmp, `net-${pid}`);
    fs.writeFileSync(pin, '');
    await native.mount(`/proc/${pid}/ns/net`, pin, 'none', ['bind']);
    pins.push(pin);
    const nsInode = fs.readlinkSync(`/proc/${pid}/ns/net`);
    const links = execFileSync('nsenter', [`--net=${pin}`, 'ip', '-o', 'link', 'show']).toString().trim().split('\n');
    expect(links).to.have.length(1);
    expect(links[0]).to.match(/^1: lo:/);

    process.kill(pid, 'SIGKILL');
    await waitFor(() => exited(pid), 'pause gone');
    const linksAfter = execFileSync('nsenter', [`--net=${pin}`, 'ip', '-o', 'link', 'show']).toString().trim().split('\n');
    expect(linksAfter).to.have.length(1);
    expect(execFileSync('nsenter', [`--net=${pin}`, 'readlink', '/proc/self/ns/net']).toString().trim()).to.equal(nsInode);
    await native.unmount(pin, ['detach']);
    expect(() => execFileSync('nsenter', [`--net=${pin}`, 'true'], { stdio: 'ignore' })).to.throw();
  });

  it('createNetns makes a netns with lo up and pins it; pause joins it (net sysctls land there) instead of making one', async () => {
    const pin = path.join(tmp, `made-net-${unique}`);
    fs.writeFileSync(pin, '');
    const ownNetns = fs.readlinkSync('/proc/self/ns/net');
    await native.createNetns(pin);
    pins.push(pin);
    const inPin = (...argv: string[]): string => execFileSync('nsenter', [`--net=${pin}`, ...argv]).toString().trim();
    expect(inPin('readlink', '/proc/self/ns/net')).to.not.equal(fs.readlinkSync('/proc/self/ns/net'));
    const links = inPin('ip', '-o', 'link', 'show').split('\n');
    expect(links).to.have.length(1);
    expect(links[0]).to.match(/^1: lo: <LOOPBACK,UP,LOWER_UP>/);
    expect(inPin('ip', '-o', '-4', 'addr', 'show', 'dev', 'lo')).to.match(/inet 127\.0\.0\.1\/8/);
    // No thread of this process (the libuv pool's included) was left in it.
    for (const tid of fs.readdirSync('/proc/self/task')) expect(fs.readlinkSync(`/proc/self/task/${tid}/ns/net`), `thread ${tid}`).to.equal(ownNetns);

    const pid = await start({ namespaces: ['uts', 'ipc'], netns: pin, sysctls: { 'net.ipv4.ip_unprivileged_port_start': '42' } });
    expect(fs.readlinkSync(`/proc/${pid}/ns/net`)).to.equal(inPin('readlink', '/proc/self/ns/net'));
    expect(fs.readlinkSync(`/proc/${pid}/ns/uts`)).to.not.equal(fs.readlinkSync('/proc/self/ns/uts'));
    expect(inPin('cat', '/proc/sys/net/ipv4/ip_unprivileged_port_start')).to.equal('42');
    expect(fs.readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim()).to.not.equal('42');
    // Pause keeps no fd of it (it holds the namespace as its own, nothing more).
    expect(fs.readdirSync(`/proc/${pid}/fd`).sort()).to.deep.equal(['0', '1', '2']);
  });

  it('startPause refuses a netns it cannot open, naming it, and leaves no process behind', async () => {
    const before = childrenOf(process.pid).length;
    const missing = path.join(tmp, 'no-such-netns');
    const failure = await native.startPause(spec({ namespaces: ['uts'], netns: missing })).catch((e: unknown) => e);
    expect(failure).to.be.instanceOf(NativeError);
    expect((failure as NativeError).code).to.equal('ENOENT');
    expect((failure as Error).message).to.include(`open network namespace ${missing}`);
    // A plain file is no namespace: setns in the child fails and says so.
    const plain = path.join(tmp, 'plain-file');
    fs.writeFileSync(plain, '');
    const notNs = await native.startPause(spec({ namespaces: ['uts'], netns: plain })).catch((e: unknown) => e);
    expect((notNs as Error).message).to.include(`join network namespace ${plain}`);
    expect(childrenOf(process.pid).length).to.equal(before);
  });

  it('reaps orphans re-parented to it as PID 1 of the pod pid namespace', async () => {
    const pid = await start({ namespaces: ['pid'] });
    // The shell exits at once; its background sleep is re-parented to the namespace's init: pause.
    execFileSync('nsenter', ['-t', String(pid), '-p', '--', '/bin/sh', '-c', 'sleep 0.5 </dev/null >/dev/null 2>&1 & exit 0']);
    await waitFor(() => childrenOf(pid).length === 1, 'orphan adopted by pause');
    const [orphan] = childrenOf(pid);
    await waitFor(() => processState(orphan) === undefined, 'orphan reaped by pause', 5000);
    expect(childrenOf(pid)).to.deep.equal([]);
    expect(alive(pid)).to.equal(true);
  });

  it('watchExit fires once after SIGTERM, and pause exits on it', async () => {
    const pid = await start();
    let fired = 0;
    const exitSeen = new Promise<void>((resolve) => {
      native.watchExit(pid, () => {
        fired++;
        resolve();
      });
    });
    expect(alive(pid)).to.equal(true);
    process.kill(pid, 'SIGTERM');
    await exitSeen;
    await sleep(50);
    expect(fired).to.equal(1);
    expect(exited(pid)).to.equal(true);
  });

  it('watchExit close() stops the watch; watching a gone pid throws ESRCH synchronously', async () => {
    const pid = await start({ namespaces: ['uts'] });
    let fired = false;
    const watch = native.watchExit(pid, () => {
      fired = true;
    });
    let controlFired = false;
    native.watchExit(pid, () => {
      controlFired = true;
    });
    watch.close();
    watch.close();
    process.kill(pid, 'SIGKILL');
    await waitFor(() => controlFired, 'the other watch fired');
    expect(fired).to.equal(false);
    await waitFor(() => processState(pid) === undefined, 'pause reaped by init');
    expect(() => native.watchExit(pid, () => undefined))
      .to.throw(NativeError)
      .with.property('code', 'ESRCH');
  });

  it('rejects naming the failed step, and leaves no process behind', async () => {
    const cgroup = makeCgroup('pids');
    const failure = native.startPause(
      spec({ sysctls: { 'net.ipv4.berth_no_such_sysctl': '1' }, cgroupProcs: [path.join(cgroup, 'cgroup.procs')] }),
    );
    try {
      await failure;
      expect.fail('startPause resolved');
    } catch (error) {
      expect(error).to.be.instanceOf(NativeError);
      expect((error as NativeError).code).to.equal('ENOENT');
      expect((error as NativeError).message).to.match(/^start pause: write sysctl net\.ipv4\.berth_no_such_sysctl: ENOENT/);
    }
    // The log file is opened before the cgroup join (pause's cgroup may deny devices).
    const logFailure = native.startPause(
      spec({ logFile: path.join(tmp, 'no-such-dir', 'pause.log'), cgroupProcs: [path.join(cgroup, 'cgroup.procs')] }),
    );
    try {
      await logFailure;
      expect.fail('startPause resolved');
    } catch (error) {
      expect((error as NativeError).code).to.equal('ENOENT');
      expect((error as NativeError).message).to.contain('start pause: open log file');
    }
    await waitFor(() => fs.readFileSync(path.join(cgroup, 'cgroup.procs'), 'utf8').trim() === '', 'failed child gone');
  });

  it('execs pause only after dropping to the given uid (a root-only executable is EACCES)', async () => {
    const privateDir = fs.mkdtempSync(path.join(tmp, 'private-'));
    fs.chmodSync(privateDir, 0o700);
    const copy = path.join(privateDir, 'pause');
    fs.copyFileSync(pauseExecutablePath(), copy);
    fs.chmodSync(copy, 0o700);
    try {
      await native.startPause(spec({ executable: copy }));
      expect.fail('startPause resolved');
    } catch (error) {
      expect((error as NativeError).code).to.equal('EACCES');
      expect((error as NativeError).message).to.equal(`start pause: exec ${copy}: EACCES (Permission denied)`);
    }
    // As root (uid 0) the same file runs, still without any capability.
    const pid = await start({ executable: copy, uid: 0, gid: 0, namespaces: ['uts'] });
    const fields = procStatus(pid);
    expect(fields.get('Uid')).to.equal('0\t0\t0\t0');
    expect(fields.get('CapEff')).to.equal('0000000000000000');
    expect(fields.get('CapBnd')).to.equal('0000000000000000');
  });

  it('pause outlives the Node process that started it, and a watch never keeps Node alive', async () => {
    const addonPath = require.resolve('../../native/addon');
    const script = `
      const addon = require(${JSON.stringify(addonPath)});
      const native = addon.loadNativeBinding();
      native.startPause({ executable: addon.pauseExecutablePath(), namespaces: ['net', 'uts'], hostname: 'orphan',
        uid: 65535, gid: 65535, cgroupProcs: [], sysctls: {} }).then(({ pid }) => {
        native.watchExit(pid, () => {});
        console.log(pid);
      });`;
    const started = Date.now();
    const output = execFileSync(process.execPath, ['-e', script], { cwd: process.cwd(), timeout: 10000 }).toString();
    const pid = Number(output.trim());
    pids.add(pid);
    // The child exited by itself although its watch was still open.
    expect(Date.now() - started).to.be.below(5000);
    expect(alive(pid)).to.equal(true);
    expect(procStatus(pid).get('PPid')).to.not.equal(String(process.pid));
    expect(execFileSync('nsenter', ['-t', String(pid), '-u', 'hostname']).toString().trim()).to.equal('orphan');
  });

  it('starts 20 pods concurrently, each in its own namespaces', async () => {
    const started = Date.now();
    const list = await Promise.all(Array.from({ length: 20 }, () => start({ namespaces: ['net', 'ipc', 'uts'] })));
    const elapsed = Date.now() - started;
    expect(new Set(list).size).to.equal(20);
    const netns = new Set(list.map((pid) => fs.readlinkSync(`/proc/${pid}/ns/net`)));
    expect(netns.size).to.equal(20);
    for (const pid of list) expect(procStatus(pid).get('SigCgt'), 'handlers installed before startPause resolved').to.not.equal('0000000000000000');
    console.log(`      20 concurrent startPause: ${elapsed} ms`);
    for (const pid of list) process.kill(pid, 'SIGKILL');
  });
});
