/**
 * Containers inside a real pod: PodManager (pause, pinned namespaces, CNI bridge) + ContainerManager
 * (runc under conmon). Checks that containers join the pod's network and UTS namespaces, that the
 * pod hooks stop and remove them, and times "pod + container from scratch".
 */
import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { ContainerManager } from '../../runtime/container-manager';
import type { ContainerConfigInput } from '../../runtime/spec/inputs';
import { containerConfigInput } from '../../runtime/testing/spec-fixtures';
import { createPodEnv, destroyPodEnv, podConfig, type PodEnv } from './pod-support';
import { openPodContainers, removeContainersAndMounts, type PodContainers } from './support/pod-containers';

describe('e2e runtime: containers in a real pod (pause + CNI + runc/conmon)', function () {
  this.timeout(90_000);
  let podEnv: PodEnv | undefined;
  let containers: PodContainers | undefined;
  let manager: ContainerManager | undefined;

  before(async () => {
    podEnv = await createPodEnv();
    containers = await openPodContainers(podEnv);
    manager = containers.manager;
  });

  after(async () => {
    await removeContainersAndMounts(containers);
    await destroyPodEnv(podEnv);
  });

  const config = (name: string, command: string[]): ContainerConfigInput => containerConfigInput(name, { command, security: { pidMode: 'CONTAINER' } });

  it('runs containers in the pod namespaces; the pod hooks stop and remove them', async () => {
    const pods = podEnv!.pods;
    const m = manager!;
    const t0 = performance.now();
    const podId = await pods.runPodSandbox(podConfig('rtweb', { logDirectory: path.join(podEnv!.tmp, 'logs', 'rtweb') }), '');
    const server = await m.createContainer(podId, config('server', ['httpd', '-f', '-p', '8080', '-h', '/etc']));
    await m.startContainer(server);
    const fromScratchMs = performance.now() - t0;
    const client = await m.createContainer(podId, config('client', ['sleep', '3600']));
    await m.startContainer(client);

    const podIp = pods.podSandboxStatus(podId).ips[0];
    expect(podIp).to.be.a('string');
    // The container sees the pod's interface and IP (same netns as pause) and the pod's hostname (same UTS).
    const addr = await m.execSync(client, ['ip', '-4', 'addr'], 5);
    expect(addr.stdout.toString()).to.contain(podIp);
    expect((await m.execSync(client, ['hostname'], 5)).stdout.toString().trim()).to.equal('rtweb');
    // localhost between containers of the pod, and the pod IP from the host
    let body = '';
    for (let i = 0; i < 50 && !body; i++) {
      const r = await m.execSync(client, ['wget', '-q', '-O', '-', 'http://127.0.0.1:8080/hostname'], 5);
      if (r.exitCode === 0) body = r.stdout.toString();
      else await new Promise((res) => setTimeout(res, 50));
    }
    expect(body.trim()).to.equal('rtweb');

    // Pod stats: traffic from the host to the pod IP shows on eth0; pause + httpd + sleep are counted.
    const http = await import('node:http');
    const fromHost = await new Promise<string>((resolve, reject) => {
      http.get(`http://${podIp}:8080/hostname`, (res) => {
        let b = '';
        res.on('data', (d) => (b += d));
        res.on('end', () => resolve(b));
      }).on('error', reject);
    });
    expect(fromHost.trim()).to.equal('rtweb');
    const st = pods.podSandboxStatus(podId);
    const podStats = await m.podStats({ ...st, netnsPid: st.verbose.pausePid });
    expect(podStats.network!.defaultInterface!.rxBytes).to.be.greaterThan(0);
    expect(podStats.usage!.processCount).to.be.at.least(3);
    expect(podStats.usage!.memoryWorkingSetBytes).to.be.greaterThan(0);
    expect(podStats.containers.map((c) => c.id).sort()).to.deep.equal([server, client].sort());

    await pods.stopPodSandbox(podId);
    expect(m.listContainers({ podSandboxId: podId }).map((c) => c.state)).to.deep.equal(['exited', 'exited']);
    await pods.removePodSandbox(podId);
    expect(m.listContainers({ podSandboxId: podId })).to.deep.equal([]);
    expect(await fs.access(path.join(podEnv!.tmp, 'croot', 'containers', server)).then(() => true, () => false)).to.equal(false);
    console.log(`      pod + container from scratch (RunPodSandbox + CreateContainer + StartContainer): ${fromScratchMs.toFixed(1)} ms`);
  });

  it("runc runs from berthd's sealed copy: runc init makes no copy of its own, and the container starts", async () => {
    const pods = podEnv!.pods;
    const m = manager!;
    const podId = await pods.runPodSandbox(podConfig('rtsealed', { logDirectory: path.join(podEnv!.tmp, 'logs', 'rtsealed') }), '');
    try {
      const id = await m.createContainer(podId, config('sealed', ['sleep', '3600']));
      // Created, not started: the init is still runc, blocked on its exec fifo.
      const stateFile = path.join(containers!.runcRoot, id, 'state.json');
      let initPid = 0;
      for (let i = 0; i < 200 && !initPid; i++) {
        const text = await fs.readFile(stateFile, 'utf8').catch(() => '');
        if (text) initPid = (JSON.parse(text) as { init_process_pid?: number }).init_process_pid ?? 0;
        else await new Promise((r) => setTimeout(r, 20));
      }
      expect(initPid).to.be.greaterThan(0);
      // Its own copy would be /memfd:runc_cloned:/proc/self/exe; berthd's copy is berth-runtime.
      expect(await fs.readlink(`/proc/${initPid}/exe`)).to.match(/^\/memfd:berth-runtime/);
      await m.startContainer(id);
      expect((await m.containerStatus(id, false)).status.state).to.equal('running');
      expect((await m.execSync(id, ['echo', 'ok'], 5)).stdout.toString()).to.equal('ok\n');
    } finally {
      await pods.stopPodSandbox(podId);
      await pods.removePodSandbox(podId);
    }
  });
});
