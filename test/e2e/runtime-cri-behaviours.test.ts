/**
 * Container behaviours through a real berthd socket (CRI messages as kubelet sends
 * them, not the manager API): exit codes and reasons, OOMKilled, ExecSync output/exit/timeout,
 * SIGTERM-ignoring process killed after the timeout, readonly rootfs, masked paths, users,
 * capabilities, env/working dir/mounts/cgroup limits seen from inside, stats, log reopen and the
 * pod's shared localhost. Complements runtime-containers.test.ts (same checks on the manager).
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { runtime } from '../../cri/api/generated/cri';
import { isServiceError } from '../support/cri-client';
import { CONTAINER_EXITED as EXITED, CriStack } from './support/cri-stack';
import { nonRootImage, pushImage } from './support/test-images';

const DEADLINE_EXCEEDED = 4;

describe('e2e runtime: container behaviours through the berthd socket', function () {
  this.timeout(120_000);
  const stack = new CriStack('behaviours');
  let wwwImage: string;
  let podId = '';

  before(async () => {
    await stack.start({
      prepare: (work) => {
        fs.mkdirSync(path.join(work, 'data'));
        fs.writeFileSync(path.join(work, 'data', 'greeting'), 'from-the-host\n');
      },
      push: async (registry) => {
        await pushImage(registry.host, 'e2e/www', 'b', await nonRootImage());
      },
    });
    wwwImage = `${stack.registry!.host}/e2e/www:b`;
    await stack.client.pullImage({ image: { image: wwwImage } });
    podId = await stack.runPod(stack.podConfig());
  });

  after(() => stack.stop());

  /** Creates and starts a container running `script` (sh -c); `patch` merges into the CRI config. */
  const start = (script: string, patch: Partial<runtime.v1.IContainerConfig> = {}) => stack.startScript(podId, stack.podConfig(), script, patch);

  /** Runs `script` to its end; returns its status and its stdout lines from the CRI log. */
  const run = (script: string, patch: Partial<runtime.v1.IContainerConfig> = {}) => stack.runScript(podId, stack.podConfig(), script, patch);

  const exec = async (containerId: string, cmd: string[], timeout = 10) => {
    const r = await stack.client.execSync({ containerId, cmd, timeout });
    return { stdout: Buffer.from(r.stdout ?? []).toString(), stderr: Buffer.from(r.stderr ?? []).toString(), exitCode: r.exitCode };
  };

  it('exit 0 is Completed with the output in the CRI log; exit 3 is Error', async () => {
    const ok = await run('echo hello');
    expect(ok.log).to.match(/^\S+ stdout F hello\n/);
    expect(ok.status).to.include({ exitCode: 0, reason: 'Completed' });
    const bad = await run('exit 3');
    expect(bad.status).to.include({ exitCode: 3, reason: 'Error' });
  });

  it('a memory-limited container that over-allocates is OOMKilled', async () => {
    const r = await run('x=a; while true; do x="$x$x"; done', { linux: { resources: { memoryLimitInBytes: 32 * 1024 * 1024 } } });
    expect(r.status).to.include({ reason: 'OOMKilled', exitCode: 137 });
  });

  it('ExecSync returns stdout/stderr and the exit code; a timeout answers DEADLINE_EXCEEDED and kills the command', async () => {
    const id = await start('sleep 600');
    try {
      expect(await exec(id, ['sh', '-c', 'echo out; echo err >&2; exit 7'])).to.deep.equal({ stdout: 'out\n', stderr: 'err\n', exitCode: 7 });
      const t0 = Date.now();
      const err = await stack.client.execSync({ containerId: id, cmd: ['sleep', '30'], timeout: 1 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isServiceError(err) && err.code, String(err)).to.equal(DEADLINE_EXCEEDED);
      expect(Date.now() - t0).to.be.below(6000);
      expect((await exec(id, ['ps', '-o', 'args'])).stdout).to.not.contain('sleep 30');
    } finally {
      await stack.client.removeContainer({ containerId: id });
    }
  });

  it('StopContainer kills a process that ignores SIGTERM once the timeout passes', async () => {
    const id = await start("trap '' TERM; while true; do sleep 0.1; done");
    try {
      const t0 = Date.now();
      await stack.client.stopContainer({ containerId: id, timeout: 2 });
      expect(Date.now() - t0).to.be.within(1900, 9000);
      expect((await stack.client.containerStatus({ containerId: id })).status).to.include({ state: EXITED, exitCode: 137 });
    } finally {
      await stack.client.removeContainer({ containerId: id });
    }
  });

  it('a container without namespace_options shares the pod pid namespace (absent = POD): PID 1 is pause, and SIGTERM stops a handler-less command at once', async () => {
    const id = await start('exec top -b -d 1 > /dev/null');
    try {
      const r = await exec(id, ['sh', '-c', 'tr "\\0" " " < /proc/1/cmdline; echo; cat /proc/self/status | grep ^NSpid']);
      expect(r.stdout.split('\n')[0].trim(), 'PID 1 of the container').to.equal('pause');
      // Not PID 1 of its own namespace, so the kernel delivers SIGTERM's default action.
      const t0 = Date.now();
      await stack.client.stopContainer({ containerId: id, timeout: 30 });
      expect(Date.now() - t0, 'StopContainer with a 30 s grace').to.be.below(5000);
      expect((await stack.client.containerStatus({ containerId: id })).status?.state).to.equal(EXITED);
    } finally {
      await stack.client.removeContainer({ containerId: id });
    }
  });

  it('readonly rootfs refuses writes; masked paths read nothing', async () => {
    const r = await run('touch /newfile && echo wrote || echo refused; wc -c < /proc/timer_list; ls /sys/firmware | wc -l', { linux: { securityContext: { readonlyRootfs: true } } });
    // /proc/timer_list is bound to /dev/null, /sys/firmware is an empty read-only tmpfs
    expect(r.stdout.map((l) => l.trim()), r.log).to.deep.equal(['refused', '0', '0']);
    expect(fs.readFileSync('/proc/timer_list', 'utf8').length).to.be.greaterThan(0); // not empty on the host
  });

  it('run_as_user 1000 shows in id -u; the image USER www-data resolves to 33', async () => {
    expect((await run('id -u', { linux: { securityContext: { runAsUser: { value: 1000 } } } })).stdout).to.deep.equal(['1000']);
    expect((await run('id -u; pwd', { image: { image: wwwImage } })).stdout).to.deep.equal(['33', '/tmp']);
  });

  it('capabilities in /proc/self/status match the request', async () => {
    const def = await run('grep CapEff /proc/self/status');
    expect(def.stdout[0]).to.match(/CapEff:\s+00000000000005fb/); // the default set
    const raw = await run('grep CapEff /proc/self/status', { linux: { securityContext: { capabilities: { dropCapabilities: ['ALL'], addCapabilities: ['NET_RAW'] } } } });
    expect(raw.stdout[0]).to.match(/CapEff:\s+0000000000002000/);
  });

  it('env, working dir, a bind mount and the cgroup limits are visible inside', async () => {
    const r = await run('echo "$GREETING $(pwd) $(cat /data/greeting)"; cat /sys/fs/cgroup/memory/memory.limit_in_bytes; cat /sys/fs/cgroup/cpu/cpu.shares', {
      envs: [{ key: 'GREETING', value: 'hi' }],
      workingDir: '/tmp',
      mounts: [{ containerPath: '/data', hostPath: path.join(stack.work, 'data'), readonly: true }],
      linux: { resources: { memoryLimitInBytes: 48 * 1024 * 1024, cpuShares: 256 } },
    });
    expect(r.stdout).to.deep.equal(['hi /tmp from-the-host', String(48 * 1024 * 1024), '256']);
  });

  it('Status claims recursive read-only mounts for runc here, and they hold: a submount of an rro mount refuses writes (a plain ro one does not)', async () => {
    const status = await stack.client.status({});
    expect(status.features?.supplementalGroupsPolicy, 'supplementalGroupsPolicy').to.equal(true);
    const runc = (status.runtimeHandlers ?? []).find((h) => h.name === 'runc');
    expect(runc?.features?.recursiveReadOnlyMounts, 'runc handler rro').to.equal(true);
    expect(runc?.features?.userNamespaces, 'runc handler user namespaces (idmapped mounts work on this kernel; userns-cri.test.ts)').to.equal(true);
    const top = path.join(stack.work, 'rro');
    const sub = path.join(top, 'sub');
    fs.mkdirSync(sub, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'rro-test', sub]);
    try {
      const probe = 'touch /m/sub/x 2>/dev/null && echo wrote || echo refused';
      const plain = await run(probe, { mounts: [{ containerPath: '/m', hostPath: top, readonly: true }] });
      expect(plain.stdout, 'a plain read-only mount leaves its submounts writable').to.deep.equal(['wrote']);
      const rro = await run(probe, { mounts: [{ containerPath: '/m', hostPath: top, readonly: true, recursiveReadOnly: true }] });
      expect(rro.stdout, 'a recursive read-only mount covers its submounts').to.deep.equal(['refused']);
    } finally {
      execFileSync('umount', ['-l', sub]);
    }
  });

  it('ContainerStats reports non-zero CPU, memory and writable layer', async () => {
    const id = await start('head -c 1000000 /dev/urandom > /tmp/blob; i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done; sleep 600');
    try {
      let stats: runtime.v1.IContainerStats | null | undefined;
      for (let i = 0; i < 100; i++) {
        stats = (await stack.client.containerStats({ containerId: id })).stats;
        if (Number(stats?.writableLayer?.usedBytes?.value ?? 0) >= 1_000_000) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(Number(stats?.cpu?.usageCoreNanoSeconds?.value)).to.be.greaterThan(0);
      expect(Number(stats?.memory?.workingSetBytes?.value)).to.be.greaterThan(0);
      expect(Number(stats?.writableLayer?.usedBytes?.value)).to.be.at.least(1_000_000);
    } finally {
      await stack.client.removeContainer({ containerId: id });
    }
  });

  it('ReopenContainerLog: after a rotation new lines land in the new file', async () => {
    const id = await start('i=0; while true; do echo line$i; i=$((i+1)); sleep 0.05; done');
    try {
      const logPath = (await stack.client.containerStatus({ containerId: id })).status?.logPath ?? '';
      await new Promise((r) => setTimeout(r, 300));
      fs.renameSync(logPath, `${logPath}.1`);
      await stack.client.reopenContainerLog({ containerId: id });
      await new Promise((r) => setTimeout(r, 300));
      const numbers = (file: string) => [...fs.readFileSync(file, 'utf8').matchAll(/ F line(\d+)\n/g)].map((m) => Number(m[1]));
      const old = numbers(`${logPath}.1`);
      const fresh = numbers(logPath);
      expect(old.length).to.be.greaterThan(0);
      expect(fresh.length).to.be.greaterThan(0);
      expect(fresh[0]).to.be.greaterThan(old[old.length - 1]);
    } finally {
      await stack.client.removeContainer({ containerId: id });
    }
  });

  it('two containers of the pod share localhost', async () => {
    const server = await start('exec httpd -f -p 127.0.0.1:8080 -h /data', { mounts: [{ containerPath: '/data', hostPath: path.join(stack.work, 'data'), readonly: true }] });
    const other = await start('sleep 600');
    try {
      let body = '';
      for (let i = 0; i < 50 && !body; i++) {
        const r = await exec(other, ['wget', '-q', '-O', '-', 'http://127.0.0.1:8080/greeting']);
        if (r.exitCode === 0) body = r.stdout;
        else await new Promise((res) => setTimeout(res, 50));
      }
      expect(body).to.equal('from-the-host\n');
    } finally {
      await stack.client.removeContainer({ containerId: server });
      await stack.client.removeContainer({ containerId: other });
    }
  });
});
