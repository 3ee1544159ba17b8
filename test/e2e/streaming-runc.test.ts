/**
 * The streaming server over real containers (root): exec through runc under the container
 * layer's ContainerManager (our ExecBackend), port-forward into the pod's netns through
 * connectInNetns (NetnsPortForwardBackend) to busybox httpd with no hostPort, driven by our own
 * SPDY and WebSocket clients. Everything is removed in after hooks (destroyRuntimeEnv).
 */
import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { silentLogger } from '../../common/logger';
import { NetnsPortForwardBackend, staticNetnsLookup } from '../../cri/streaming/netns-port-forward';
import { StreamingServer } from '../../cri/streaming/server';
import { loadNativeBinding } from '../../native/addon';
import type { ContainerConfigInput } from '../../runtime/spec/inputs';
import { containerConfigInput } from '../../runtime/testing/spec-fixtures';
import { connectSpdy, SpdyPortForwardClient, spdyRemoteCommand } from '../support/spdy-client';
import { connectWs } from '../support/ws-stream-client';
import { createRuntimeEnv, destroyRuntimeEnv, type RuntimeEnv } from './runtime-support';

describe('e2e streaming: exec and port-forward into runc containers', function () {
  this.timeout(60_000);
  let env: RuntimeEnv;
  let server: StreamingServer;
  let shellId: string;
  let webId: string;
  let seq = 0;

  const config = (patch: Partial<ContainerConfigInput>): ContainerConfigInput => containerConfigInput(`s${++seq}`, patch);

  before(async () => {
    env = await createRuntimeEnv();
    await fs.mkdir(path.join(env.base, 'www'), { recursive: true });
    await fs.writeFile(path.join(env.base, 'www', 'index.html'), 'hello from a pod without hostPort\n');
    shellId = await env.manager.createContainer(env.pod.id, config({ command: ['sleep', '3600'] }));
    await env.manager.startContainer(shellId);
    webId = await env.manager.createContainer(
      env.pod.id,
      config({ command: ['httpd', '-f', '-p', '127.0.0.1:8080', '-h', '/www'], mounts: [{ containerPath: '/www', hostPath: path.join(env.base, 'www'), readonly: true, propagation: 'private' }] }),
    );
    await env.manager.startContainer(webId);
    server = await StreamingServer.start({
      backends: {
        exec: env.manager,
        portForward: new NetnsPortForwardBackend(staticNetnsLookup({ [env.pod.id]: env.pod.namespacePaths.net ?? null }), loadNativeBinding()),
      },
      logger: silentLogger,
    });
  });

  after(async () => {
    await server?.close();
    if (env) await destroyRuntimeEnv(env);
  });

  const execUrl = (cmd: string[], o: { stdin?: boolean } = {}) =>
    server.getExecUrl({ containerId: shellId, cmd, tty: false, stdin: o.stdin ?? false, stdout: true, stderr: true });

  it('SPDY exec in the container: `echo hi; exit 7` gives "hi" and NonZeroExitCode 7; the pod hostname file shows it ran inside', async () => {
    const rc = await spdyRemoteCommand(execUrl(['sh', '-c', 'echo hi; cat /etc/hostname; exit 7']), { stderr: true });
    expect((await rc.stdout).toString()).to.equal(`hi\n${env.pod.id}\n`);
    const status = JSON.parse(await rc.error);
    expect(status.reason).to.equal('NonZeroExitCode');
    expect(status.details.causes).to.deep.equal([{ reason: 'ExitCode', message: '7' }]);
  });

  it('WebSocket v5 exec with stdin through the container`s cat', async () => {
    const s = await connectWs(execUrl(['cat'], { stdin: true }), ['v5.channel.k8s.io']);
    s.send(0, 'through runc\n');
    s.send(255, Buffer.from([0]));
    await s.closed;
    expect(s.channelData(1).toString()).to.equal('through runc\n');
    expect(JSON.parse(s.channelData(3).toString()).status).to.equal('Success');
  });

  it('kills the exec`d process in the container when the client goes away', async () => {
    const rc = await spdyRemoteCommand(execUrl(['sh', '-c', 'echo started; exec sleep 31']), { stderr: true });
    await new Promise<void>((resolve) => rc.stdoutStream?.once('data', () => resolve()));
    rc.session.destroy();
    let ps = '';
    for (let i = 0; i < 50; i++) {
      ps = (await env.manager.execSync(shellId, ['ps', '-o', 'args'], 5)).stdout.toString();
      if (!ps.includes('sleep 31')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(ps).to.not.contain('sleep 31');
  });

  it('an exec writing 200 MB to a client that stops reading is held back: the process blocks, berthd stays bounded', async () => {
    const { session } = await connectSpdy(execUrl(['head', '-c', '200000000', '/dev/zero']), ['v4.channel.k8s.io']);
    try {
      const rssBefore = process.memoryUsage().rss;
      let rssMax = rssBefore;
      const sampler = setInterval(() => (rssMax = Math.max(rssMax, process.memoryUsage().rss)), 20);
      (await session.openStream({ streamType: 'error' })).end();
      const stdout = await session.openStream({ streamType: 'stdout' }); // never read
      stdout.end();
      (await session.openStream({ streamType: 'stderr' })).end();
      await new Promise((r) => setTimeout(r, 3000));
      clearInterval(sampler);
      const grewMiB = (rssMax - rssBefore) / 2 ** 20;
      // Without backpressure all 200 MB were queued in berthd for the client within the 3 s.
      expect(grewMiB, `RSS grew ${grewMiB.toFixed(1)} MiB`).to.be.lessThan(64);
      const ps = (await env.manager.execSync(shellId, ['ps', '-o', 'args'], 5)).stdout.toString();
      expect(ps, 'head is blocked, not finished').to.contain('head -c 200000000');
    } finally {
      session.destroy();
    }
    let ps = '';
    for (let i = 0; i < 50; i++) {
      ps = (await env.manager.execSync(shellId, ['ps', '-o', 'args'], 5)).stdout.toString();
      if (!ps.includes('head -c')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(ps, 'killed once the client left').to.not.contain('head -c');
  });

  it('port-forward fetches a page from httpd in the pod (no hostPort) and carries 20 parallel connections', async () => {
    const client = await SpdyPortForwardClient.connect(server.getPortForwardUrl({ podSandboxId: env.pod.id, ports: [8080, 8081] }));
    try {
      const first = await client.httpGetWhenUp(8080, '/index.html');
      expect(first).to.contain('200 OK').and.to.contain('hello from a pod without hostPort');
      const pages = await Promise.all(Array.from({ length: 20 }, () => client.httpGet(8080, '/index.html')));
      for (const p of pages) expect(p).to.contain('hello from a pod without hostPort');
      const refused = await client.open(8081);
      const message = await refused.error;
      expect(message, message).to.match(/error forwarding port 8081 to pod .*refused/i);
    } finally {
      client.session.destroy();
    }
  });
});
