import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { NativeError } from '../binding';
import { FakeNativeBinding } from './fake-native';

const SPEC = {
  executable: '/usr/lib/berth/pause',
  namespaces: ['net', 'ipc', 'uts'] as const,
  hostname: 'pod',
  uid: 65535,
  gid: 65535,
  cgroupProcs: [],
  sysctls: {},
};

async function rejection(promise: Promise<unknown>): Promise<NativeError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(NativeError);
    return error as NativeError;
  }
  throw new Error('expected a rejection');
}

describe('native/testing/fake-native FakeNativeBinding', () => {
  it('records calls with their arguments in order', async () => {
    const native = new FakeNativeBinding();
    await native.mount('tmpfs', '/a', 'tmpfs', ['nosuid'], 'size=1m');
    await native.unmount('/a', ['detach']);
    expect(native.calls.map((c) => c.method)).to.deep.equal(['mount', 'unmount']);
    expect(native.calls[0].args).to.deep.equal(['tmpfs', '/a', 'tmpfs', ['nosuid'], 'size=1m']);
    expect(native.callsOf('unmount')[0].args).to.deep.equal(['/a', ['detach']]);
  });

  it('tracks active mounts, stacked mounts unmount newest first, and unmounting nothing is EINVAL', async () => {
    const native = new FakeNativeBinding();
    await native.mount('tmpfs', '/a', 'tmpfs', []);
    await native.mount('/src', '/a', 'none', ['bind']);
    await native.mount('shm', '/b', 'tmpfs', []);
    await native.unmount('/a');
    expect(native.activeMounts().map((m) => [m.source, m.target])).to.deep.equal([
      ['tmpfs', '/a'],
      ['shm', '/b'],
    ]);
    await native.unmount('/a');
    await native.unmount('/b');
    expect(native.activeMounts()).to.deep.equal([]);
    const error = await rejection(native.unmount('/b'));
    expect(error.code).to.equal('EINVAL');
    expect(error.errno).to.equal(22);
  });

  it('treats propagation changes and remounts as changes to an existing mount, not new mounts', async () => {
    const native = new FakeNativeBinding();
    expect((await rejection(native.mount('none', '/x', '', ['rprivate']))).code).to.equal('EINVAL');
    await native.mount('/src', '/x', 'none', ['bind']);
    await native.mount('none', '/x', '', ['rprivate']);
    await native.mount('none', '/x', '', ['remount', 'bind', 'rdonly']);
    expect(native.activeMounts()).to.have.length(1);
    expect(native.activeMounts()[0].flags).to.deep.equal(['bind', 'rdonly']);
  });

  it('keeps xattrs per path; an absent name reads as undefined', async () => {
    const native = new FakeNativeBinding();
    await native.lsetxattr('/d', 'trusted.overlay.opaque', Buffer.from('y'));
    expect((await native.lgetxattr('/d', 'trusted.overlay.opaque'))?.toString()).to.equal('y');
    expect(await native.lgetxattr('/d', 'user.other')).to.equal(undefined);
    expect(await native.lgetxattr('/elsewhere', 'trusted.overlay.opaque')).to.equal(undefined);
    expect(await native.llistxattr('/d')).to.deep.equal(['trusted.overlay.opaque']);
    expect(await native.llistxattr('/none')).to.deep.equal([]);
  });

  it('records device nodes and refuses a second node at the same path with EEXIST', async () => {
    const native = new FakeNativeBinding();
    await native.mknod('/wh', 0o20000, 0, 0);
    expect(native.nodes.get('/wh')).to.deep.equal({ mode: 0o20000, major: 0, minor: 0 });
    expect((await rejection(native.mknod('/wh', 0o20000, 0, 0))).code).to.equal('EEXIST');
  });

  it('gives pause processes distinct pids and fires exit watchers once', async () => {
    const native = new FakeNativeBinding({ firstPid: 500 });
    const first = await native.startPause(SPEC);
    const second = await native.startPause({ ...SPEC, hostname: 'other' });
    expect(first.pid).to.equal(500);
    expect(second.pid).to.equal(501);
    let fired = 0;
    let closedFired = 0;
    native.watchExit(first.pid, () => fired++);
    native.watchExit(first.pid, () => closedFired++).close();
    expect(native.liveProcesses().map((p) => p.spec.hostname)).to.deep.equal(['pod', 'other']);
    expect(native.exitProcess(first.pid)).to.equal(true);
    expect(native.exitProcess(first.pid)).to.equal(false);
    expect(fired).to.equal(1);
    expect(closedFired).to.equal(0);
    expect(native.isAlive(first.pid)).to.equal(false);
    expect(native.isAlive(second.pid)).to.equal(true);
  });

  it('throws ESRCH synchronously when watching a process that is not running', () => {
    const native = new FakeNativeBinding();
    expect(() => native.watchExit(12345, () => undefined))
      .to.throw(NativeError)
      .with.property('code', 'ESRCH');
  });

  it('injects failures for a number of calls, by code or error object', async () => {
    const native = new FakeNativeBinding();
    native.fail('mount', 'EPERM', 1);
    const error = await rejection(native.mount('tmpfs', '/a', 'tmpfs', []));
    expect(error.code).to.equal('EPERM');
    expect(error.errno).to.equal(1);
    await native.mount('tmpfs', '/a', 'tmpfs', []);
    expect(native.activeMounts()).to.have.length(1);
    expect(native.calls).to.have.length(2);

    const custom = new NativeError('start pause: setuid 65535: EPERM', 'EPERM', 1);
    native.fail('startPause', custom);
    expect(await rejection(native.startPause(SPEC))).to.equal(custom);
    expect(await rejection(native.startPause(SPEC))).to.equal(custom);
    expect(native.liveProcesses()).to.deep.equal([]);
    native.clearFailures();
    expect((await native.startPause(SPEC)).pid).to.be.a('number');
  });

  it('refuses connections by default and uses connectHandler when set', async () => {
    const native = new FakeNativeBinding();
    expect((await rejection(native.connectInNetns('/run/ns/net', '127.0.0.1', 80))).code).to.equal('ECONNREFUSED');
    native.connectHandler = (_netns, _host, port) => port + 1000;
    expect(await native.connectInNetns('/run/ns/net', '127.0.0.1', 80)).to.equal(1080);
  });

  it('fails only the calls whose arguments match the predicate', async () => {
    const native = new FakeNativeBinding();
    native.fail('mount', 'ENOMEM', 1, ([, , fstype]) => fstype === 'tmpfs');
    await native.mount('/proc/1/ns/net', '/pin', 'none', ['bind']);
    expect((await rejection(native.mount('shm', '/shm', 'tmpfs', []))).code).to.equal('ENOMEM');
    await native.mount('shm', '/shm', 'tmpfs', []);
    expect(native.activeMounts().map((m) => m.target)).to.deep.equal(['/pin', '/shm']);
  });

  it('tracks mounts by target for assertions and seeds mounts left by an earlier run without recording', async () => {
    const native = new FakeNativeBinding();
    native.addMount('/left', { source: 'shm', fstype: 'tmpfs', flags: [] });
    expect(native.calls).to.deep.equal([]);
    expect(native.isMounted('/left')).to.equal(true);
    expect(native.mountAt('/left')).to.deep.include({ source: 'shm', fstype: 'tmpfs' });
    await native.unmount('/left');
    expect(native.isMounted('/left')).to.equal(false);
    expect(native.mountAt('/left')).to.equal(undefined);
  });

  it('lists the pauses started, can make them exit at once, and writes their pid to cgroup.procs files', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-fake-native-'));
    try {
      const procs = path.join(dir, 'cgroup.procs');
      const native = new FakeNativeBinding({ firstPid: 7 });
      native.writeCgroupProcs = true;
      native.fail('startPause', 'EPERM', 1);
      await rejection(native.startPause({ ...SPEC, cgroupProcs: [procs] }));
      const { pid } = await native.startPause({ ...SPEC, cgroupProcs: [procs] });
      expect(native.startedPauses()).to.have.length(1);
      expect(fs.readFileSync(procs, 'utf8')).to.equal(`${pid}\n`);
      native.pauseExitsAtOnce = true;
      const gone = await native.startPause(SPEC);
      expect(native.isAlive(gone.pid)).to.equal(false);
      expect(() => native.watchExit(gone.pid, () => undefined)).to.throw(NativeError).with.property('code', 'ESRCH');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('mknod leaves a placeholder file when asked, refusing an existing path like the kernel', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-fake-native-'));
    try {
      const native = new FakeNativeBinding({ nodesOnDisk: true });
      const node = path.join(dir, 'wh');
      await native.mknod(node, fs.constants.S_IFCHR, 0, 0);
      expect(fs.existsSync(node)).to.equal(true);
      expect((await rejection(native.mknod(node, fs.constants.S_IFCHR, 0, 0))).code).to.equal('EEXIST');
      expect((await rejection(native.mknod(path.join(dir, 'no', 'x'), fs.constants.S_IFCHR, 0, 0))).code).to.equal('ENOENT');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('spawns fake children, reports their exit to watchChild once, and counts memory reductions', () => {
    const native = new FakeNativeBinding({ firstPid: 300 });
    const [r, w] = native.makePipe();
    expect(r).to.not.equal(w);
    const pid = native.spawnProcess('/usr/bin/conmon', ['conmon', '--version'], ['PATH=/bin'], '', [-1, w, -1], true);
    expect(pid).to.equal(300);
    const exits: Array<[number | null, number | null]> = [];
    native.watchChild(pid, (code, signal) => exits.push([code, signal]));
    expect(native.exitChild(pid, null, 9)).to.equal(true);
    expect(native.exitChild(pid, 0)).to.equal(false);
    expect(exits).to.deep.equal([[null, 9]]);
    expect(() => native.watchChild(pid, () => undefined)).to.throw(NativeError).with.property('code', 'ESRCH');
    expect(native.callsOf('spawnProcess')[0].args).to.deep.equal(['/usr/bin/conmon', ['conmon', '--version'], ['PATH=/bin'], '', [-1, w, -1], true]);
    native.reduceMemory();
    native.reduceMemory();
    expect(native.memoryReductions).to.equal(2);
  });
});
