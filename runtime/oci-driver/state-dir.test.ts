import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { errorKindOf } from '../../common/errors';
import { RuncDriver } from './runc-driver';
import { deleteStoppedDirectly, signalInitDirectly, signalNumber, startViaExecFifo, type DirectDeleteOps } from './state-dir';
import { tempDirEach } from '../../common/testing/temp-dir-fixtures';

const exists = (p: string) => fs.access(p).then(
  () => true,
  () => false,
);

/** A fake "runc" in `dir` that appends its argv to `argvLog`, and a state root with a directory for container c1. */
async function argvRecordingRunc(dir: string): Promise<{ bin: string; argvLog: string; root: string }> {
  const bin = path.join(dir, 'runc');
  const argvLog = path.join(dir, 'argv');
  await fs.writeFile(bin, `#!/bin/sh\necho "$@" >> ${argvLog}\n`, { mode: 0o755 });
  const root = path.join(dir, 'root');
  await fs.mkdir(path.join(root, 'c1'), { recursive: true });
  return { bin, argvLog, root };
}

/** Children a test spawns (push them); each still running is SIGKILLed after every test, before its temp dir goes. */
function childrenKilledAfterEach(): Array<ReturnType<typeof spawn>> {
  const children: Array<ReturnType<typeof spawn>> = [];
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });
  return children;
}

describe('runtime/oci-driver/state-dir: start through the exec fifo', () => {
  let dir: string;
  const children = childrenKilledAfterEach();
  tempDirEach('berth-fifo-', (d) => (dir = d));

  function mkfifo(file: string): void {
    const r = spawnSync('mkfifo', [file]);
    if (r.status !== 0) throw new Error(`mkfifo ${file}: ${r.stderr.toString()}`);
  }

  /** Stands in for runc init: opens the fifo for writing (blocking until a reader), writes "0", then "execs" (exits 0). */
  function fakeInit(fifo: string, delayMs = 0) {
    const child = spawn('sh', ['-c', `sleep ${delayMs / 1000}; printf 0 > "$1"; exit 0`, 'sh', fifo], { stdio: 'ignore' });
    children.push(child);
    return child;
  }

  it('unblocks the waiting init, removes the fifo, and returns true', async () => {
    const fifo = path.join(dir, 'exec.fifo');
    mkfifo(fifo);
    const init = fakeInit(fifo, 100); // opens after we are already waiting
    const exited = new Promise<number | null>((r) => init.on('exit', (code) => r(code)));
    expect(await startViaExecFifo(dir, 'c1', init.pid, 5000)).to.equal(true);
    expect(await exited).to.equal(0);
    expect(await exists(fifo)).to.equal(false);
  });

  it('works when init is already blocked on the fifo before the start', async () => {
    const fifo = path.join(dir, 'exec.fifo');
    mkfifo(fifo);
    const init = fakeInit(fifo);
    await new Promise((r) => setTimeout(r, 100));
    expect(init.exitCode).to.equal(null); // still blocked in open()
    expect(await startViaExecFifo(dir, 'c1', init.pid, 5000)).to.equal(true);
  });

  it('returns false without a fifo (not a created runc container) or when the path is not a fifo', async () => {
    expect(await startViaExecFifo(dir, 'c1', undefined, 1000)).to.equal(false);
    await fs.writeFile(path.join(dir, 'exec.fifo'), '');
    expect(await startViaExecFifo(dir, 'c1', undefined, 1000)).to.equal(false);
  });

  it('fails fast with FailedPrecondition when the init process is gone', async () => {
    mkfifo(path.join(dir, 'exec.fifo'));
    const gone = spawn('true');
    await new Promise((r) => gone.on('exit', r));
    const t0 = Date.now();
    const err = await startViaExecFifo(dir, 'c1', gone.pid, 5000).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(errorKindOf(err)).to.equal('FailedPrecondition');
    expect(String(err)).to.match(/exited before start/);
    expect(Date.now() - t0).to.be.below(1000);
  });

  it('gives up after the timeout when nobody writes', async () => {
    mkfifo(path.join(dir, 'exec.fifo'));
    const err = await startViaExecFifo(dir, 'c1', process.pid, 150).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(String(err)).to.match(/did not take the start signal within 150 ms/);
  });

  it('RuncDriver uses the fifo for runc only, and falls back to the CLI when there is none', async () => {
    // A fake "runc" that records its argv: the CLI path is taken only without a fifo.
    const { bin, argvLog, root } = await argvRecordingRunc(dir);
    mkfifo(path.join(root, 'c1', 'exec.fifo'));
    const init = fakeInit(path.join(root, 'c1', 'exec.fifo'));
    const driver = new RuncDriver(bin, root);
    await driver.start('c1', init.pid);
    expect(await exists(argvLog)).to.equal(false); // no process spawned
    await driver.start('c2');
    expect(await fs.readFile(argvLog, 'utf8')).to.equal(`--root=${root} --log-format=json start c2\n`);
    const crunLike = new RuncDriver(bin, root, { directOps: false });
    await crunLike.start('c1');
    expect(await fs.readFile(argvLog, 'utf8')).to.match(/start c1\n$/);
  });
});

describe('runtime/oci-driver/state-dir: signalling init without runc kill', () => {
  let dir: string;
  const children = childrenKilledAfterEach();
  tempDirEach('berth-kill-', (d) => (dir = d));

  /** A sleeping child and a runc-like state.json naming it (with its real or a wrong start time). */
  async function sleeper(startTimeDelta = 0) {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    children.push(child);
    const stat = await fs.readFile(`/proc/${child.pid}/stat`, 'utf8');
    const start = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    await fs.writeFile(path.join(dir, 'state.json'), JSON.stringify({ id: 'c1', init_process_pid: child.pid, init_process_start: start + startTimeDelta }));
    const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_code, sig) => r(sig)));
    return { child, exited };
  }

  it('maps runc signal names and numbers', () => {
    expect(signalNumber('TERM')).to.equal(15);
    expect(signalNumber('SIGKILL')).to.equal(9);
    expect(signalNumber('2')).to.equal(2);
    expect(signalNumber('NOPE')).to.equal(undefined);
  });

  it('signals the init process named by state.json when its start time matches', async () => {
    const { exited } = await sleeper();
    expect(await signalInitDirectly(dir, 'TERM')).to.equal(true);
    expect(await exited).to.equal('SIGTERM');
  });

  it('refuses (returns false, signals nothing) on a start-time mismatch (pid reuse), no state, or an unknown signal', async () => {
    const { child } = await sleeper(1);
    expect(await signalInitDirectly(dir, 'KILL')).to.equal(false);
    await new Promise((r) => setTimeout(r, 50));
    expect(child.exitCode).to.equal(null);
    expect(child.signalCode).to.equal(null);
    expect(await signalInitDirectly(path.join(dir, 'nope'), 'KILL')).to.equal(false);
    expect(await signalInitDirectly(dir, 'NOPE')).to.equal(false);
  });

  it('RuncDriver.kill signals directly for runc and runs the CLI otherwise', async () => {
    const { bin, argvLog, root } = await argvRecordingRunc(dir);
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    children.push(child);
    const stat = await fs.readFile(`/proc/${child.pid}/stat`, 'utf8');
    await fs.writeFile(path.join(root, 'c1', 'state.json'), JSON.stringify({ init_process_pid: child.pid, init_process_start: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]) }));
    const exited = new Promise((r) => child.on('exit', r));
    await new RuncDriver(bin, root).kill('c1', 'KILL');
    await exited;
    expect(await exists(argvLog)).to.equal(false);
    await new RuncDriver(bin, root).kill('c2', 'TERM'); // no state: the CLI decides
    expect(await fs.readFile(argvLog, 'utf8')).to.equal(`--root=${root} --log-format=json kill c2 TERM\n`);
  });
});

describe('runtime/oci-driver/state-dir: deleting a stopped container without runc delete', () => {
  let dir: string;
  tempDirEach('berth-del-', (d) => (dir = d));

  /** A runc-like state dir whose init is `pid` (start time from /proc when alive), with two cgroup dirs. */
  async function stateDir(pid: number, start: number) {
    const state = path.join(dir, 'state');
    const cgroups = { memory: path.join(dir, 'cg', 'memory', 'berth-c1'), 'cpu,cpuacct': path.join(dir, 'cg', 'cpu', 'berth-c1'), pids: path.join(dir, 'cg', 'gone') };
    await fs.mkdir(state, { recursive: true });
    await fs.mkdir(cgroups.memory, { recursive: true });
    await fs.mkdir(cgroups['cpu,cpuacct'], { recursive: true });
    await fs.writeFile(path.join(state, 'state.json'), JSON.stringify({ init_process_pid: pid, init_process_start: start, cgroup_paths: cgroups }));
    return { state, cgroups };
  }

  it('with force, kills what outlived the init in its cgroup (a pod-wide pid namespace) and then removes it; without, leaves it to runc', async () => {
    const leftovers = new Set([4242, 4243]);
    const killed: number[] = [];
    const ops: DirectDeleteOps = {
      rmdir: async (d) => {
        if (leftovers.size > 0) throw Object.assign(new Error(`rmdir ${d}: busy`), { code: 'EBUSY' });
        await fs.rmdir(d);
      },
      killProcesses: async () => {
        killed.push(...leftovers);
        const n = leftovers.size;
        leftovers.clear();
        return n;
      },
    };
    const { state, cgroups } = await stateDir(999999999, 1);
    expect(await deleteStoppedDirectly(state, { ops })).to.equal(false);
    expect(killed).to.deep.equal([]);
    expect(await exists(cgroups.memory)).to.equal(true);
    expect(await deleteStoppedDirectly(state, { force: true, ops })).to.equal(true);
    expect(killed).to.deep.equal([4242, 4243]);
    expect(await exists(cgroups.memory)).to.equal(false);
    expect(await exists(state)).to.equal(false);
  });

  it('with force, gives up (runc delete then runs) when the leftovers do not leave within the wait', async () => {
    const ops: DirectDeleteOps = {
      rmdir: async (d) => {
        throw Object.assign(new Error(`rmdir ${d}: busy`), { code: 'EBUSY' });
      },
      killProcesses: async () => 1,
    };
    const { state } = await stateDir(999999999, 1);
    const t0 = Date.now();
    expect(await deleteStoppedDirectly(state, { force: true, ops })).to.equal(false);
    expect(Date.now() - t0).to.be.within(900, 5000);
    expect(await exists(path.join(state, 'state.json'))).to.equal(true);
  });

  it('removes the cgroup dirs and the state dir once init has exited', async () => {
    const done = spawn('true');
    await new Promise((r) => done.on('exit', r));
    const { state, cgroups } = await stateDir(done.pid!, 1);
    expect(await deleteStoppedDirectly(state)).to.equal(true);
    expect(await exists(state)).to.equal(false);
    expect(await exists(cgroups.memory)).to.equal(false);
    expect(await exists(cgroups['cpu,cpuacct'])).to.equal(false);
  });

  it('leaves everything to runc while init runs, or when a cgroup will not go', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const stat = await fs.readFile(`/proc/${child.pid}/stat`, 'utf8');
      const running = await stateDir(child.pid!, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]));
      expect(await deleteStoppedDirectly(running.state)).to.equal(false);
      expect(await exists(path.join(running.state, 'state.json'))).to.equal(true);
      expect(await exists(running.cgroups.memory)).to.equal(true);
    } finally {
      child.kill('SIGKILL');
    }
    await fs.rm(path.join(dir, 'state'), { recursive: true });
    const busy = await stateDir(999999999, 1);
    await fs.writeFile(path.join(busy.cgroups.memory, 'child-cgroup-file'), ''); // rmdir: ENOTEMPTY
    expect(await deleteStoppedDirectly(busy.state)).to.equal(false);
    expect(await exists(path.join(busy.state, 'state.json'))).to.equal(true);
    expect(await deleteStoppedDirectly(path.join(dir, 'no-state'))).to.equal(false);
  });
});
