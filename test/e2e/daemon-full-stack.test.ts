/**
 * E2E through a real berthd process and nothing else: the CRI socket is the only way in. Pulls an
 * image through a registry mirror, runs a pod (pause + CNI), a container (runc + conmon), checks
 * its CRI log, ExecSync, streaming exec and port-forward from the URLs the RPCs return, the
 * metrics that the layers feed, then removes everything and checks nothing is left on the host.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CriClient } from '../support/cri-client';
import { SpdyPortForwardClient, spdyRemoteCommand } from '../support/spdy-client';
import { mountsUnder } from './support/berthd-cleanup';
import { httpGetText } from './support/berthd';
import { CriStack, k8sMirrorConf } from './support/cri-stack';

const IMAGE = 'registry.k8s.io/pause:3.9';

describe('e2e: the whole stack through the berthd socket', function () {
  this.timeout(120_000);
  const stack = new CriStack('full-stack');
  let podId = '';
  let containerId = '';
  const events: Array<{ id: string; type: number }> = [];
  let eventStream: ReturnType<CriClient['getContainerEvents']> | undefined;

  before(async () => {
    await stack.start({
      busybox: { repository: 'pause', tag: '3.9' },
      registriesConf: k8sMirrorConf,
      pull: false,
      prepare: (work) => {
        fs.mkdirSync(path.join(work, 'www'));
        fs.writeFileSync(path.join(work, 'www', 'index.html'), 'served through berthd\n');
      },
    });
    eventStream = stack.client.getContainerEvents({});
    eventStream.on('data', (e: { containerId?: string; containerEventType?: number }) => events.push({ id: e.containerId ?? '', type: e.containerEventType ?? -1 }));
    eventStream.on('error', () => undefined); // cancelled at the end
  });

  after(async () => {
    eventStream?.cancel();
    await stack.stop();
  });

  it('reports NetworkReady from the embedded default network', async () => {
    const status = await stack.client.status({});
    const conditions = Object.fromEntries((status.status?.conditions ?? []).map((c) => [c.type, c.status]));
    expect(conditions).to.deep.equal({ RuntimeReady: true, NetworkReady: true });
  });

  it('pulls through the mirror and keeps the requested name', async () => {
    const pulled = await stack.client.pullImage({ image: { image: IMAGE } });
    expect(pulled.imageRef).to.match(/^sha256:[0-9a-f]{64}$/);
    const status = await stack.client.imageStatus({ image: { image: IMAGE } });
    expect(status.image?.repoTags).to.deep.equal([IMAGE]);
  });

  it('runs a pod with an IP from the daemon`s subnet', async () => {
    podId = (await stack.client.runPodSandbox({ config: stack.podConfig() })).podSandboxId ?? '';
    const status = await stack.client.podSandboxStatus({ podSandboxId: podId });
    expect(status.status?.state).to.equal(0); // SANDBOX_READY
    const ip = status.status?.network?.ip ?? '';
    const prefix = stack.berthd!.network.subnet.split('.').slice(0, 3).join('.') + '.';
    expect(ip.startsWith(prefix), `${ip} in ${stack.berthd!.network.subnet}`).to.equal(true);
  });

  it('runs a container whose output lands in its CRI log', async () => {
    containerId = (
      await stack.client.createContainer({
        podSandboxId: podId,
        config: {
          metadata: { name: 'web', attempt: 0 },
          image: { image: IMAGE },
          command: ['sh', '-c', 'echo hello-from-berth; exec httpd -f -p 127.0.0.1:8080 -h /www'],
          logPath: 'web.log',
          mounts: [{ containerPath: '/www', hostPath: path.join(stack.work, 'www'), readonly: true }],
        },
        sandboxConfig: stack.podConfig(),
      })
    ).containerId ?? '';
    await stack.client.startContainer({ containerId });
    const logFile = path.join(stack.work, 'logs', 'web.log');
    let log = '';
    for (let i = 0; i < 100 && !log.includes('hello-from-berth'); i++) {
      await new Promise((r) => setTimeout(r, 50));
      log = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '';
    }
    expect(log).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+[+-Z][^ ]* stdout F hello-from-berth\n/);
    const status = await stack.client.containerStatus({ containerId });
    expect(status.status?.state).to.equal(1); // CONTAINER_RUNNING
    expect(status.status?.imageRef).to.match(/^registry\.k8s\.io\/pause@sha256:[0-9a-f]{64}$/);
  });

  it('ExecSync returns output and the exit code', async () => {
    const r = await stack.client.execSync({ containerId, cmd: ['sh', '-c', 'echo out; echo err >&2; exit 3'], timeout: 10 });
    expect(Buffer.from(r.stdout ?? []).toString()).to.equal('out\n');
    expect(Buffer.from(r.stderr ?? []).toString()).to.equal('err\n');
    expect(r.exitCode).to.equal(3);
  });

  it('Exec returns a streaming URL that runs the command in the container', async () => {
    const { url } = await stack.client.exec({ containerId, cmd: ['cat', '/etc/hostname'], stdout: true, stderr: true });
    const rc = await spdyRemoteCommand(url ?? '', { stderr: true });
    expect((await rc.stdout).toString()).to.equal('full-stack\n');
    expect(JSON.parse(await rc.error).status).to.equal('Success');
  });

  it('PortForward reaches httpd inside the pod netns', async () => {
    const { url } = await stack.client.portForward({ podSandboxId: podId, port: [8080] });
    const pf = await SpdyPortForwardClient.connect(url ?? '');
    try {
      const page = await pf.httpGetWhenUp(8080, '/index.html');
      expect(page).to.contain('200 OK').and.to.contain('served through berthd');
    } finally {
      pf.close();
    }
  });

  it('feeds the layers` metrics', async () => {
    const text = await httpGetText(stack.berthd!.metricsAddress ?? '', '/metrics');
    expect(text).to.match(/container_runtime_berth_pod_start_step_seconds_count\{step="cni"\} 1\n/);
    expect(text).to.match(/container_runtime_berth_image_pulls_total\{outcome="success"\} 1\n/);
    expect(text).to.match(/container_runtime_berth_containers\{state="running"\} 1\n/);
    expect(text).to.match(/container_runtime_berth_pods\{state="ready"\} 1\n/);
    expect(text).to.match(/container_runtime_berth_cni_plugin_seconds_count\{[^}]*plugin="bridge"[^}]*\} [1-9]/);
  });

  it('StopPodSandbox stops the container; RemovePodSandbox leaves nothing behind', async () => {
    await stack.client.stopPodSandbox({ podSandboxId: podId });
    const stopped = await stack.client.containerStatus({ containerId });
    expect(stopped.status?.state).to.equal(2); // CONTAINER_EXITED
    await stack.client.removePodSandbox({ podSandboxId: podId });
    expect((await stack.client.listPodSandbox({})).items).to.deep.equal([]);
    expect((await stack.client.listContainers({})).containers).to.deep.equal([]);
    expect(mountsUnder(stack.berthd!.tmpDir)).to.deep.equal([]);
    const links = execFileSync('ip', ['-o', 'link', 'show', 'master', stack.berthd!.network.bridge], { encoding: 'utf8' });
    expect(links.trim()).to.equal('');
    const ipamDir = path.join(stack.berthd!.root, 'cni', 'networks', stack.berthd!.network.name);
    const leases = fs.existsSync(ipamDir) ? fs.readdirSync(ipamDir).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)) : [];
    expect(leases).to.deep.equal([]);
  });

  it('GetContainerEvents streamed the lifecycle of the pod (as its own id) and of the container', async () => {
    const want = (id: string, types: number[]) => types.map((type) => ({ id, type }));
    for (let i = 0; i < 50 && events.length < 8; i++) await new Promise((r) => setTimeout(r, 20));
    // CREATED=0 STARTED=1 STOPPED=2 DELETED=3
    expect(events.filter((e) => e.id === podId)).to.deep.equal(want(podId, [0, 1, 2, 3]));
    expect(events.filter((e) => e.id === containerId)).to.deep.equal(want(containerId, [0, 1, 2, 3]));
  });
});
