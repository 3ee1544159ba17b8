/**
 * Containers end to end as root: real runc under real conmon, an overlay rootfs over a busybox
 * lower layer, a pod made of a fresh netns. Each test checks the effect inside the OS.
 */
import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { errorKindOf } from '../../common/errors';
import type { ContainerManager } from '../../runtime/container-manager';
import type { SandboxView } from '../../runtime/interfaces';
import { RuncDriver } from '../../runtime/oci-runtime';
import type { ContainerConfigInput } from '../../runtime/spec/inputs';
import { containerConfigInput } from '../../runtime/testing/spec-fixtures';
import { createRuntimeEnv, destroyRuntimeEnv, sh, type RuntimeEnv } from './runtime-support';
import { rejection } from '../../common/testing/rejection-fixtures';

const RUNC = '/usr/sbin/runc';

describe('e2e runtime: containers under runc + conmon', function () {
  this.timeout(60_000);
  let env: RuntimeEnv;
  let manager: ContainerManager;
  let runc: RuncDriver;
  let pod: SandboxView;
  let base: string;
  let seq = 0;

  before(async () => {
    env = await createRuntimeEnv();
    ({ manager, pod, base } = env);
    runc = new RuncDriver(RUNC, env.runcRoot);
  });

  after(async () => {
    // Removes whatever a failed test left: containers, runc state, mounts, netns, cgroups, files.
    if (env) await destroyRuntimeEnv(env);
  });

  const config = (patch: Partial<ContainerConfigInput> = {}): ContainerConfigInput => containerConfigInput(`c${++seq}`, patch);

  async function waitExited(id: string, ms = 15_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if ((await manager.containerStatus(id, false)).status.state === 'exited') return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`container ${id} did not exit within ${ms} ms`);
  }

  /** Runs `script` to completion; returns status and the log text; removes the container. */
  async function runScript(script: string, patch: Partial<ContainerConfigInput> = {}) {
    const id = await manager.createContainer(pod.id, config({ command: ['sh', '-c', script], ...patch }));
    try {
      await manager.startContainer(id);
      await waitExited(id);
      const { status } = await manager.containerStatus(id, false);
      const log = await fs.readFile(status.logPath, 'utf8');
      return { status, log, lines: logLines(log) };
    } finally {
      await manager.removeContainer(id);
    }
  }

  it('writes output to the log in CRI format and reports exit 0 as Completed', async () => {
    const r = await runScript('echo hello; echo oops >&2');
    expect(r.log).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+(Z|[+-]\d\d:\d\d) stdout F hello\n/);
    expect(r.lines).to.deep.include({ stream: 'stderr', tag: 'F', text: 'oops' });
    expect(r.status).to.include({ exitCode: 0, reason: 'Completed', state: 'exited' });
    expect(r.status.startedAtNs).to.be.greaterThan(0);
    expect(r.status.finishedAtNs).to.be.at.least(r.status.startedAtNs - 1e9);
  });

  it('reports exit 3 as Error', async () => {
    const r = await runScript('exit 3');
    expect(r.status).to.include({ exitCode: 3, reason: 'Error' });
  });

  it('applies env (image then config) and the working dir', async () => {
    const r = await runScript('echo "$FROM_IMAGE $FOO $(pwd) $HOSTNAME $(cat /etc/hostname)"', { envs: [{ key: 'FOO', value: 'bar' }], workingDir: '/tmp' });
    expect(r.lines.map((l) => l.text)).to.include('yes bar /tmp p1 p1');
  });

  it('runs as run_as_user 1000, and as the image USER www-data (33)', async () => {
    const r1 = await runScript('id -u; id -g', { security: { runAsUser: 1000 } });
    expect(r1.lines.map((l) => l.text)).to.deep.equal(['1000', '1000']);
    const r2 = await runScript('id -u; pwd', { image: 'busybox:www' });
    expect(r2.lines.map((l) => l.text)).to.deep.equal(['33', '/var/www']);
  });

  it('grants exactly the requested capabilities (CapEff in /proc/self/status)', async () => {
    const def = await runScript('grep CapEff /proc/self/status');
    // CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE = bits 0,1,3,4,5,6,7,8,10
    expect(def.lines[0].text).to.match(/CapEff:\s+00000000000005fb/);
    const raw = await runScript('grep CapEff /proc/self/status', { security: { capabilities: { drop: ['ALL'], add: ['NET_RAW'] } } });
    expect(raw.lines[0].text).to.match(/CapEff:\s+0000000000002000/);
  });

  it('a readonly rootfs refuses writes; masked /proc/timer_list reads nothing (the host file is not empty)', async () => {
    const r = await runScript('touch /newfile && echo wrote || echo refused; wc -c < /proc/timer_list; ls /sys/firmware | wc -l', { security: { readonlyRootfs: true } });
    expect(r.lines.map((l) => l.text)).to.include('refused');
    // /proc/timer_list is bound to /dev/null (0 bytes), /sys/firmware to an empty read-only tmpfs
    const numbers = r.lines.filter((l) => l.stream === 'stdout' && /^\s*\d+$/.test(l.text)).map((l) => Number(l.text));
    expect(numbers, JSON.stringify(r.lines)).to.deep.equal([0, 0]);
    expect((await fs.readFile('/proc/timer_list', 'utf8')).length).to.be.greaterThan(0);
  });

  it('ExecSync returns output and the real exit code; a timeout kills the command and says so', async () => {
    const id = await manager.createContainer(pod.id, config({ command: ['sleep', '60'] }));
    try {
      await manager.startContainer(id);
      const ok = await manager.execSync(id, ['sh', '-c', 'echo out; echo err >&2; exit 7'], 5);
      expect(ok.stdout.toString()).to.equal('out\n');
      expect(ok.stderr.toString()).to.equal('err\n');
      expect(ok.exitCode).to.equal(7);
      const t0 = Date.now();
      const caught = await rejection(manager.execSync(id, ['sleep', '30'], 1));
      expect(errorKindOf(caught)).to.equal('DeadlineExceeded');
      expect(Date.now() - t0).to.be.below(5000);
      // the timed-out sleep is gone from the container
      const ps = await manager.execSync(id, ['ps', '-o', 'args'], 5);
      expect(ps.stdout.toString()).to.not.contain('sleep 30');
    } finally {
      await manager.removeContainer(id);
    }
  });

  it('SIGKILLs a process that ignores SIGTERM after the stop timeout', async () => {
    const id = await manager.createContainer(pod.id, config({ command: ['sh', '-c', "trap '' TERM; while true; do sleep 0.1; done"] }));
    try {
      await manager.startContainer(id);
      const t0 = Date.now();
      await manager.stopContainer(id, 2);
      const elapsed = Date.now() - t0;
      expect(elapsed).to.be.within(1900, 8000);
      const { status } = await manager.containerStatus(id, false);
      expect(status).to.include({ state: 'exited', exitCode: 137 });
      await manager.stopContainer(id, 2); // idempotent
    } finally {
      await manager.removeContainer(id);
    }
  });

  it('puts the memory limit in the cgroup and updates it live', async () => {
    const id = await manager.createContainer(pod.id, config({ command: ['sleep', '60'], resources: { memoryLimitInBytes: 64 * 1024 * 1024, cpuShares: 512 } }));
    try {
      await manager.startContainer(id);
      const cg = `/sys/fs/cgroup/memory${pod.cgroupParent}/berth-${id}`;
      expect((await fs.readFile(`${cg}/memory.limit_in_bytes`, 'utf8')).trim()).to.equal(String(64 * 1024 * 1024));
      expect((await fs.readFile(`/sys/fs/cgroup/cpu${pod.cgroupParent}/berth-${id}/cpu.shares`, 'utf8')).trim()).to.equal('512');
      await manager.updateContainerResources(id, { memoryLimitInBytes: 96 * 1024 * 1024 });
      expect((await fs.readFile(`${cg}/memory.limit_in_bytes`, 'utf8')).trim()).to.equal(String(96 * 1024 * 1024));
      expect((await manager.containerStatus(id, false)).status.resources?.memoryLimitInBytes).to.equal(96 * 1024 * 1024);
    } finally {
      await manager.removeContainer(id);
    }
  });

  it('reports OOMKilled when the container exceeds its memory limit', async () => {
    // A shell variable that grows past 32 MiB.
    const r = await runScript('x=a; while true; do x="$x$x"; done', { resources: { memoryLimitInBytes: 32 * 1024 * 1024 } });
    expect(r.status).to.include({ reason: 'OOMKilled', exitCode: 137 });
  });

  it('reopens the log: new lines land in the new file after rotation', async () => {
    const id = await manager.createContainer(pod.id, config({ command: ['sh', '-c', 'i=0; while true; do echo line$i; i=$((i+1)); sleep 0.05; done'] }));
    try {
      await manager.startContainer(id);
      const { status } = await manager.containerStatus(id, false);
      await new Promise((r) => setTimeout(r, 300));
      await fs.rename(status.logPath, `${status.logPath}.1`);
      await manager.reopenContainerLog(id);
      await new Promise((r) => setTimeout(r, 300));
      const fresh = logLines(await fs.readFile(status.logPath, 'utf8'));
      const old = logLines(await fs.readFile(`${status.logPath}.1`, 'utf8'));
      expect(old.length).to.be.greaterThan(0);
      expect(fresh.length).to.be.greaterThan(0);
      const lastOld = Number(old[old.length - 1].text.slice(4));
      expect(Number(fresh[0].text.slice(4))).to.be.greaterThan(lastOld);
    } finally {
      await manager.removeContainer(id);
    }
  });

  it('two containers of one pod share the network namespace (localhost)', async () => {
    await fs.mkdir(path.join(base, 'www'), { recursive: true });
    await fs.writeFile(path.join(base, 'www', 'index.html'), 'shared-net\n');
    const server = await manager.createContainer(pod.id, config({ command: ['httpd', '-f', '-p', '127.0.0.1:8080', '-h', '/www'], mounts: [{ containerPath: '/www', hostPath: path.join(base, 'www'), readonly: true, propagation: 'private' }] }));
    const client = await manager.createContainer(pod.id, config({ command: ['sleep', '60'] }));
    try {
      await manager.startContainer(server);
      await manager.startContainer(client);
      let body = '';
      for (let i = 0; i < 50 && !body; i++) {
        const r = await manager.execSync(client, ['wget', '-q', '-O', '-', 'http://127.0.0.1:8080/index.html'], 5);
        if (r.exitCode === 0) body = r.stdout.toString();
        else await new Promise((res) => setTimeout(res, 50));
      }
      expect(body).to.equal('shared-net\n');
    } finally {
      await manager.removeContainer(server);
      await manager.removeContainer(client);
    }
  });

  it('reports non-zero CPU, memory and writable-layer stats, and lifecycle events', async () => {
    const events: string[] = [];
    const unsubscribe = manager.onEvent((e) => events.push(e.type));
    const id = await manager.createContainer(pod.id, config({ command: ['sh', '-c', 'head -c 2000000 /dev/urandom > /tmp/blob; i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; sleep 60'] }));
    try {
      await manager.startContainer(id);
      await new Promise((r) => setTimeout(r, 1500));
      const s = await manager.containerStats(id);
      expect(s.usage!.cpuUsageNs).to.be.greaterThan(0);
      expect(s.usage!.memoryWorkingSetBytes).to.be.greaterThan(0);
      expect(s.writableLayer.usedBytes).to.be.at.least(2_000_000);
      expect(s.writableLayer.inodesUsed).to.be.at.least(2);
      // A cgroup is sampled once per collection period (1 s): the rate needs the next period's sample.
      await new Promise((r) => setTimeout(r, 1100));
      const again = await manager.listContainerStats({ podSandboxId: pod.id });
      expect(again.find((x) => x.id === id)!.usage!.cpuUsageNanoCores).to.be.a('number');
    } finally {
      await manager.removeContainer(id);
      unsubscribe();
    }
    expect(events).to.deep.equal(['created', 'started', 'stopped', 'deleted']);
  });

  it('RuntimeDefault seccomp filters the container: ordinary work runs, new namespaces and mount are refused', async () => {
    const r = await runScript('grep Seccomp: /proc/self/status; echo ok > /tmp/f && cat /tmp/f; unshare -n true && echo unshared || echo unshare-refused', { security: { seccomp: { type: 'RuntimeDefault' } } });
    const texts = r.lines.map((l) => l.text);
    expect(texts).to.include('Seccomp:\t2');
    expect(texts).to.include('ok');
    expect(texts).to.include('unshare-refused');
    expect(r.status.exitCode).to.equal(0);
  });

  it('privileged: every capability, host devices, writable /sys', async () => {
    // A privileged container needs a privileged pod: this test's pod is one for the duration.
    const podConfig = pod.config;
    pod.config = { ...podConfig, linux: { securityContext: { privileged: true } } };
    const r = await runScript('grep CapEff /proc/self/status; ls /dev/loop-control >/dev/null 2>&1 && echo has-loop-control || echo no-loop-control; grep " /sys " /proc/self/mounts | grep -q "rw," && echo sys-rw', { security: { privileged: true } }).finally(() => (pod.config = podConfig));
    const texts = r.lines.map((l) => l.text);
    const capEff = /CapEff:\s+([0-9a-f]+)/.exec(texts.join('\n'))![1];
    const hostCapEff = /CapEff:\s+([0-9a-f]+)/.exec(await fs.readFile('/proc/self/status', 'utf8'))![1];
    expect(capEff).to.equal(hostCapEff);
    const hostHasLoop = await fs.access('/dev/loop-control').then(() => true, () => false);
    expect(texts).to.include(hostHasLoop ? 'has-loop-control' : 'no-loop-control');
    expect(texts).to.include('sys-rw');
  });

  it('Start (through runc\'s exec fifo, no runc process) leaves runc agreeing the container runs, with the fifo gone', async () => {
    const id = await manager.createContainer(pod.id, config({ command: ['sleep', '60'] }));
    try {
      await manager.startContainer(id);
      const state = await runc.state(id);
      expect(state?.status).to.equal('running');
      expect(state?.pid).to.equal((await manager.containerStatus(id, true)).status.pid);
      expect(await fs.access(path.join(env.runcRoot, id, 'exec.fifo')).then(() => true, () => false)).to.equal(false);
      expect((await manager.execSync(id, ['cat', '/proc/1/cmdline'], 5)).stdout.toString()).to.equal('sleep\u000060\u0000');
      let second: unknown;
      await manager.startContainer(id).catch((err: unknown) => (second = err));
      expect(errorKindOf(second)).to.equal('FailedPrecondition'); // already running
    } finally {
      await manager.removeContainer(id);
    }
  });

  it('a missing executable fails Start with InvalidArgument naming it', async () => {
    const id = await manager.createContainer(pod.id, config({ command: ['/no/such/binary'] }));
    try {
      const caught = await rejection(manager.startContainer(id));
      expect(errorKindOf(caught)).to.equal('InvalidArgument');
      expect((await manager.containerStatus(id, false)).status.message).to.contain('/no/such/binary');
    } finally {
      await manager.removeContainer(id);
    }
  });

  it('containers outlive a berthd restart: still running, exec works, exit is seen by the new manager', async () => {
    const id = await manager.createContainer(pod.id, config({ command: ['sh', '-c', "trap 'exit 5' TERM; sleep 3600 & wait"] }));
    try {
      await manager.startContainer(id);
      await env.restart();
      manager = env.manager;
      expect((await manager.containerStatus(id, false)).status.state).to.equal('running');
      expect((await manager.execSync(id, ['echo', 'still-here'], 5)).stdout.toString()).to.equal('still-here\n');
      await manager.stopContainer(id, 5);
      expect((await manager.containerStatus(id, false)).status).to.include({ state: 'exited', exitCode: 5, reason: 'Error' });
    } finally {
      await manager.removeContainer(id);
    }
  });

  it('streaming exec pipes stdin/stdout/stderr and is killed when the client goes away', async () => {
    const { PassThrough } = await import('node:stream');
    const id = await manager.createContainer(pod.id, config({ command: ['sleep', '60'] }));
    try {
      await manager.startContainer(id);
      const stdin = new PassThrough();
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      stdout.on('data', (d: Buffer) => out.push(d));
      stderr.on('data', (d: Buffer) => err.push(d));
      const done = manager.exec(id, ['sh', '-c', 'tr a-z A-Z; echo oops >&2; exit 4'], { stdin, stdout, stderr, tty: false }, new AbortController().signal);
      stdin.end('hello exec\n');
      expect(await done).to.deep.equal({ exitCode: 4 });
      expect(Buffer.concat(out).toString()).to.equal('HELLO EXEC\n');
      expect(Buffer.concat(err).toString()).to.equal('oops\n');

      const abort = new AbortController();
      const t0 = Date.now();
      const long = manager.exec(id, ['sleep', '30'], { stdout: new PassThrough(), tty: false }, abort.signal);
      setTimeout(() => abort.abort(), 300);
      await long;
      expect(Date.now() - t0).to.be.below(5000);
      const ps = await manager.execSync(id, ['ps', '-o', 'args'], 5);
      expect(ps.stdout.toString()).to.not.contain('sleep 30');
    } finally {
      await manager.removeContainer(id);
    }
  });

  it('remove of a host-PID container whose init died kills the processes it left in its cgroup (runc delete decides)', async () => {
    const seconds = 700_000 + Math.floor(Math.random() * 100_000); // a sleep nobody else runs
    const marker = `^sleep ${seconds}$`;
    // With the host pid namespace, init's death does not take its children along.
    const id = await manager.createContainer(pod.id, config({ command: ['sh', '-c', `sleep ${seconds} & exec sleep 600`], security: { pidMode: 'NODE' } }));
    const orphanPids = async () => (await sh('pgrep', ['-f', marker]).catch(() => '')).split('\n').filter(Boolean);
    try {
      await manager.startContainer(id);
      for (let i = 0; i < 50 && (await orphanPids()).length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect((await orphanPids()).length).to.equal(1);
      await manager.stopContainer(id, 0); // SIGKILL to init only
      await manager.removeContainer(id);
      await manager.removalsSettled(); // an exited container's teardown follows the answer
      for (let i = 0; i < 50 && (await orphanPids()).length > 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(await orphanPids()).to.deep.equal([]);
      expect(await fs.access(`/sys/fs/cgroup/memory${pod.cgroupParent}/berth-${id}`).then(() => true, () => false)).to.equal(false);
    } finally {
      for (const pid of await orphanPids()) process.kill(Number(pid), 'SIGKILL');
      await manager.removeContainer(id);
    }
  });

  it('remove leaves no runc state, no mount and no files behind', async () => {
    const id = await manager.createContainer(pod.id, config({ command: ['sleep', '60'] }));
    await manager.startContainer(id);
    const dir = path.join(base, 'containers', id);
    const cgroupDirs = ['memory', 'cpu', 'pids', 'devices', 'freezer'].map((c) => `/sys/fs/cgroup/${c}${pod.cgroupParent}/berth-${id}`);
    const exists = (p: string) => fs.access(p).then(() => true, () => false);
    expect(await exists(cgroupDirs[0])).to.equal(true);
    await manager.removeContainer(id);
    expect(await runc.state(id)).to.equal(undefined);
    expect(await exists(path.join(env.runcRoot, id))).to.equal(false);
    for (const d of cgroupDirs) expect(await exists(d), d).to.equal(false);
    expect(await sh('cat', ['/proc/self/mountinfo'])).to.not.contain(id);
    expect(await exists(dir)).to.equal(false);
    await manager.removeContainer(id); // idempotent
  });

  it('remove of an exited container answers before its teardown, which then leaves no runc state, cgroup, mount or file', async () => {
    const id = await manager.createContainer(pod.id, config({ command: ['sleep', '60'] }));
    await manager.startContainer(id);
    await manager.stopContainer(id, 0);
    const cgroupDirs = ['memory', 'cpu', 'pids', 'devices', 'freezer'].map((c) => `/sys/fs/cgroup/${c}${pod.cgroupParent}/berth-${id}`);
    const exists = (p: string) => fs.access(p).then(() => true, () => false);
    const trash = path.join(base, 'containers', '.removed');
    await manager.removeContainer(id);
    // Answered: gone from the store, its directory (record inside) moved; runc state and the rootfs overlay (now in the trash) still there.
    expect(manager.listContainers().map((c) => c.id)).to.not.include(id);
    expect(await exists(path.join(base, 'containers', id))).to.equal(false);
    const entry = (await fs.readdir(trash)).find((n) => n.startsWith(`${id}-`));
    expect(entry).to.be.a('string');
    expect(await exists(path.join(env.runcRoot, id))).to.equal(true);
    expect(await sh('cat', ['/proc/self/mountinfo'])).to.contain(path.join(trash, entry!, 'bundle', 'rootfs'));
    await manager.removalsSettled();
    expect(await runc.state(id)).to.equal(undefined);
    expect(await exists(path.join(env.runcRoot, id))).to.equal(false);
    for (const d of cgroupDirs) expect(await exists(d), d).to.equal(false);
    expect(await sh('cat', ['/proc/self/mountinfo'])).to.not.contain(id);
    expect(await fs.readdir(trash)).to.deep.equal([]);
  });
});

/** Parses CRI log lines: `<time> <stream> <P|F> <text>`. */
function logLines(text: string): Array<{ stream: string; tag: string; text: string }> {
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [, stream, tag, ...rest] = l.split(' ');
      return { stream, tag, text: rest.join(' ') };
    });
}
