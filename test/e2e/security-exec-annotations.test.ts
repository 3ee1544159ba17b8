/**
 * Hostile pod specs and exec commands against a real berthd / real runc:
 * - a RunPodSandbox whose bandwidth annotation is a huge non-quantity must not stall the event
 *   loop (Version calls sent meanwhile keep answering fast);
 * - ExecSync answers as soon as the command exits even when a child keeps its output open, and on
 *   a timeout kills everything the exec started before it answers DEADLINE_EXCEEDED;
 * - ExecSync output stays capped (a `yes` cannot grow berthd's memory).
 */
import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { status as grpcStatus } from '@grpc/grpc-js';
import { runtime } from '../../cri/api/generated/cri';
import { errorKindOf } from '../../common/errors';
import { cgroupFsPath } from '../../runtime/cgroup-stats';
import { isServiceError, type CriClient } from '../support/cri-client';
import { startBerthd, type BerthdInstance } from './support/berthd';
import { createRuntimeEnv, destroyRuntimeEnv, type RuntimeEnv } from './runtime-support';

describe('e2e security: a huge annotation does not stall berthd', function () {
  this.timeout(120_000);
  let berthd: BerthdInstance;
  let client: CriClient;

  before(async () => {
    berthd = await startBerthd({ name: 'berth-sec-annot' });
    client = berthd.client();
    // warm up (connection, JIT of both paths) so the first measured call is not a cold one
    for (let i = 0; i < 20; i++) await client.version({});
    await client.runPodSandbox({ config: { metadata: { name: 'warm', namespace: 'e2e', uid: 'uid-warm', attempt: 0 }, annotations: { 'kubernetes.io/ingress-bandwidth': 'x' } } }).catch(() => undefined);
  });
  after(async () => {
    await berthd?.cleanup();
  });

  /** Sends the pod and, while it is in flight, Version calls one after another; returns the slowest Version. */
  async function versionLatencyDuring(digits: number): Promise<{ maxMs: number; calls: number; rpcMs: number; error: unknown }> {
    const t0 = Date.now();
    let settled = false;
    const run = client
      .runPodSandbox({
        config: {
          metadata: { name: `annot-${digits}`, namespace: 'e2e', uid: `uid-annot-${digits}`, attempt: 0 },
          annotations: { 'kubernetes.io/ingress-bandwidth': `${'1'.repeat(digits)}x` },
        },
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      )
      .finally(() => (settled = true));
    let maxMs = 0;
    let calls = 0;
    // at least 20 calls, and until the pod's answer is in
    while (!settled || calls < 20) {
      const s = Date.now();
      await client.version({});
      maxMs = Math.max(maxMs, Date.now() - s);
      calls++;
    }
    const error = await run;
    return { maxMs, calls, rpcMs: Date.now() - t0, error };
  }

  for (const digits of [20_000, 200_000]) {
    it(`RunPodSandbox with ${digits} digits + "x" in kubernetes.io/ingress-bandwidth: INVALID_ARGUMENT, Version stays < 100 ms`, async () => {
      const r = await versionLatencyDuring(digits);
      console.log(`      ${digits} digits: RunPodSandbox answered in ${r.rpcMs} ms; slowest of ${r.calls} Version calls ${r.maxMs} ms`);
      expect(isServiceError(r.error) && r.error.code, String(r.error)).to.equal(grpcStatus.INVALID_ARGUMENT);
      expect((r.error as Error).message).to.contain(`annotations["kubernetes.io/ingress-bandwidth"]: value of ${digits + 1} bytes exceeds`);
      expect(r.maxMs).to.be.below(100);
      expect((await client.listPodSandbox({})).items ?? []).to.have.length(0);
    });
  }
});

describe('e2e security: ExecSync under hostile commands', function () {
  this.timeout(120_000);
  let env: RuntimeEnv;
  let id = '';

  before(async () => {
    env = await createRuntimeEnv();
    id = await env.manager.createContainer(env.pod.id, {
      name: 'exec', attempt: 0, image: 'busybox:e2e', command: ['sleep', '600'], args: [], workingDir: '', envs: [], mounts: [], devices: [],
      labels: {}, annotations: {}, logPath: 'exec.log', stdin: false, stdinOnce: false, tty: false, security: {},
    });
    await env.manager.startContainer(id);
  });
  after(async () => {
    if (env) await destroyRuntimeEnv(env);
  });

  /** Live (not zombie) processes of the container, from its pids cgroup, as "pid comm args". */
  async function containerProcesses(): Promise<string[]> {
    const cg = env.manager.containerPaths(id)?.cgroupsPath ?? '';
    const dir = path.join('/sys/fs/cgroup/pids', cgroupFsPath(cg));
    const pids = (await fs.readFile(path.join(dir, 'cgroup.procs'), 'utf8')).split('\n').filter(Boolean);
    const out: string[] = [];
    for (const pid of pids) {
      const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
      if (!stat || stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      const args = (await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0').join(' ').trim();
      out.push(`${pid} ${args}`);
    }
    return out;
  }

  async function execTimed(cmd: string[], timeout: number) {
    const t0 = Date.now();
    const started = env.native.nativeExecs;
    try {
      const r = await env.manager.execSync(id, cmd, timeout);
      return { ms: Date.now() - t0, stdout: r.stdout.toString(), exitCode: r.exitCode, error: undefined as unknown };
    } catch (error) {
      return { ms: Date.now() - t0, stdout: '', exitCode: -1, error };
    } finally {
      // the addon started the command (no runc exec in between): these bounds hold for that path
      expect(env.native.nativeExecs, 'ExecSync without runc').to.equal(started + 1);
    }
  }

  for (const timeout of [0, 5]) {
    it(`sh -c 'sleep 15 & echo started' (timeout ${timeout}): answers within 1 s with "started" and exit 0`, async () => {
      const r = await execTimed(['sh', '-c', 'sleep 15 & echo started'], timeout);
      console.log(`      timeout ${timeout}: answered in ${r.ms} ms`);
      expect(r.error).to.equal(undefined);
      expect(r.stdout).to.equal('started\n');
      expect(r.exitCode).to.equal(0);
      expect(r.ms).to.be.below(1000);
    });
  }

  it('a command that exits non-zero while a child holds stderr reports its own exit code', async () => {
    const r = await execTimed(['sh', '-c', 'sleep 15 >&2 & echo out; exit 3'], 0);
    expect(r.error).to.equal(undefined);
    expect(r).to.include({ stdout: 'out\n', exitCode: 3 });
    expect(r.ms).to.be.below(1000);
  });

  it('a background child that does not hold the output keeps running after the exec answers', async () => {
    const r = await execTimed(['sh', '-c', 'sleep 57 >/dev/null 2>&1 & echo started'], 0);
    expect(r).to.include({ stdout: 'started\n', exitCode: 0 });
    expect(r.ms).to.be.below(1000);
    const daemon = (await containerProcesses()).find((p) => p.endsWith('sleep 57'));
    expect(daemon, 'the redirected background sleep is still running').to.not.equal(undefined);
    process.kill(Number(daemon!.split(' ')[0]), 'SIGKILL');
    for (let i = 0; i < 100 && (await containerProcesses()).includes(daemon!); i++) await new Promise((r) => setTimeout(r, 20));
  });

  for (const script of ['sleep 30; echo x', 'sleep 30 & sleep 30', 'setsid sleep 30 & sleep 30']) {
    it(`sh -c '${script}' with timeout 1: DEADLINE_EXCEEDED at ~1 s, and no process of the exec is left`, async () => {
      const before = await containerProcesses();
      const r = await execTimed(['sh', '-c', script], 1);
      const left = await containerProcesses(); // read right after the reply
      console.log(`      '${script}': answered in ${r.ms} ms; processes left: ${JSON.stringify(left)}`);
      expect(errorKindOf(r.error), String(r.error)).to.equal('DeadlineExceeded');
      expect(r.ms).to.be.within(900, 2500);
      expect(left).to.deep.equal(before);
    });
  }

  it('output is capped so the reply fits one 16 MiB gRPC message: 40 MB of `yes` on each stream, memory bounded', async () => {
    const rss0 = process.memoryUsage().rss;
    const started = env.native.nativeExecs;
    const r = await env.manager.execSync(id, ['sh', '-c', 'yes | head -c 40000000 & yes | head -c 40000000 >&2; wait'], 60);
    expect(env.native.nativeExecs, 'ExecSync without runc').to.equal(started + 1);
    const grew = process.memoryUsage().rss - rss0;
    const reply = runtime.v1.ExecSyncResponse.encode({ stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode }).finish().length;
    console.log(`      stdout ${r.stdout.length} + stderr ${r.stderr.length} bytes; reply ${reply} bytes; rss grew ${(grew / 2 ** 20).toFixed(1)} MiB`);
    expect(r.exitCode).to.equal(0);
    expect(r.stdout.length + r.stderr.length).to.equal(16 * 1024 * 1024 - 64 * 1024);
    expect(reply).to.be.at.most(16 * 1024 * 1024);
    expect(grew).to.be.below(120 * 2 ** 20);
  });
});
