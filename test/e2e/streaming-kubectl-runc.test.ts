/**
 * The real kubectl (its SPDY and WebSocket remotecommand clients) against real containers:
 * `kubectl exec -it` in a terminal made by `script` (the terminal size and the exit code of a
 * shell in a runc container) and `kubectl attach` to a running container's output, through the
 * fake apiserver that proxies the upgrade as kubelet would. Needs kubectl, script and root.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { silentLogger } from '../../common/logger';
import { StreamingServer } from '../../cri/streaming/server';
import type { ContainerConfigInput } from '../../runtime/spec/inputs';
import { containerConfigInput } from '../../runtime/testing/spec-fixtures';
import { kubeconfigFor, startFakeApiserver, type FakeApiserver } from '../support/fake-apiserver';
import { createRuntimeEnv, destroyRuntimeEnv, type RuntimeEnv } from './runtime-support';
import { addStreamingOps } from './support/pod-containers';

describe('e2e streaming: kubectl exec -it and attach on runc containers', function () {
  this.timeout(60_000);
  let env: RuntimeEnv;
  let server: StreamingServer;
  let dir: string;
  let kubeconfig: string;
  let api: FakeApiserver | undefined;
  let target = '';
  const children: ChildProcess[] = [];
  let seq = 0;

  async function run(patch: Partial<ContainerConfigInput>): Promise<string> {
    const name = `k${++seq}`;
    const id = await env.manager.createContainer(env.pod.id, containerConfigInput(name, patch));
    await env.manager.startContainer(id);
    return id;
  }

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'berth-kubectl-runc-'));
    kubeconfig = path.join(dir, 'kubeconfig');
    env = await createRuntimeEnv();
    addStreamingOps(env.native);
    server = await StreamingServer.start({ backends: { exec: env.manager, attach: env.manager }, logger: silentLogger });
    // The fake apiserver always names container "main": point it at the test's current target.
    api = await startFakeApiserver({
      getExecUrl: (r) => server.getExecUrl({ ...r, containerId: target }),
      getAttachUrl: (r) => server.getAttachUrl({ ...r, containerId: target }),
      getPortForwardUrl: (r) => server.getPortForwardUrl(r),
    });
    await writeFile(kubeconfig, kubeconfigFor(api.url));
  });

  afterEach(() => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
  });

  after(async () => {
    await api?.close();
    await server?.close();
    if (env) await destroyRuntimeEnv(env);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  function runCommand(cmd: string, args: string[], opts: { input?: string; inputDelayMs?: number; env?: Record<string, string> } = {}): Promise<{ code: number | null; stdout: string }> {
    return new Promise((resolve) => {
      const child = spawn(cmd, args, { env: { ...process.env, ...opts.env } });
      children.push(child);
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      if (opts.input !== undefined) {
        const input = opts.input;
        setTimeout(() => child.stdin.write(input), opts.inputDelayMs ?? 0);
      }
      child.on('close', (code) => resolve({ code, stdout }));
    });
  }

  for (const [label, websockets] of [
    ['SPDY/3.1', 'false'],
    ['WebSocket', 'true'],
  ] as const) {
    it(`kubectl exec -it over ${label}: the container's shell sees the terminal size, reads input, exits 3`, async () => {
      target = await run({ command: ['sleep', '3600'] });
      const script = `stty cols 100 rows 30; kubectl --kubeconfig ${kubeconfig} exec -it streamer -- /bin/sh -c 'stty size; read x; echo got-$x; exit 3'; echo kubectl-exit=$?`;
      const r = await runCommand('script', ['-qec', script, '/dev/null'], { input: 'abc\n', inputDelayMs: 1500, env: { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: websockets } });
      expect(r.stdout, r.stdout).to.contain('30 100');
      expect(r.stdout).to.contain('got-abc');
      expect(r.stdout).to.contain('kubectl-exit=3');
    });

    it(`kubectl attach over ${label}: prints the running container's output`, async () => {
      target = await run({ command: ['sh', '-c', 'i=0; while true; do echo "tick-$i"; i=$((i+1)); sleep 0.1; done'] });
      const child = spawn('kubectl', ['--kubeconfig', kubeconfig, 'attach', 'streamer'], { env: { ...process.env, KUBECTL_REMOTE_COMMAND_WEBSOCKETS: websockets } });
      children.push(child);
      const seen = await new Promise<string>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`no output from kubectl attach: ${out}`)), 20_000);
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if ((out.match(/tick-\d+\n/g) ?? []).length >= 3) {
            clearTimeout(timer);
            resolve(out);
          }
        });
      });
      expect(seen).to.match(/tick-\d+\ntick-\d+\ntick-\d+\n/);
      child.kill('SIGKILL');
      await new Promise((r) => setTimeout(r, 200));
      expect(env.manager.statusView(target).state).to.equal('running');
    });
  }
});
