/**
 * kubelet's "sandbox changed" path, replayed against a real berthd: pause dies, PodSandboxStatus
 * says NOTREADY, kubelet stops the containers and the old sandbox, runs a new sandbox (attempt 1)
 * under the same log directory, re-runs the init container and the app with their restart counts
 * as attempts, and its GC later removes the old sandbox, which must leave the new attempt's logs
 * (same directory) alone.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runtime } from '../../cri/api/generated/cri';
import { isServiceError } from '../support/cri-client';
import { CriStack } from './support/cri-stack';
import { containerConfig, createPodCgroup, podSandboxConfig, preparePod, readCriLog, removePodCgroup, waitFor, type ContainerSpec, type KubeletPod, containerStatusOf, waitContainerState } from './support/kubelet-replay';

const { ContainerState, PodSandboxState } = runtime.v1;
const NOT_FOUND = 5;
const MiB = 1024 * 1024;
const num = (v: unknown): number => Number(v ?? 0);

describe('e2e kubelet sequence: the sandbox dies and kubelet recreates it (attempt 1)', function () {
  this.timeout(120_000);
  const stack = new CriStack('ksbx');
  let pod: KubeletPod;
  let imageName: string;
  let imageId: string;

  const spec = (name: 'init' | 'app', attempt: number): ContainerSpec => ({
    name,
    attempt,
    script: name === 'init' ? 'echo "init $ROLE"' : 'trap "exit 0" TERM; while true; do echo app-tick; sleep 1; done',
    workingDir: '/',
    env: { ROLE: name },
    hash: name === 'init' ? '11aa22bb' : '33cc44dd',
    cpuQuota: 20000,
    cpuShares: 51,
    memoryLimit: 64 * MiB,
  });
  const status = (containerId: string) => containerStatusOf(stack.client, containerId);
  const waitState = (containerId: string, state: number) => waitContainerState(stack.client, containerId, state);

  /** RunPodSandbox attempt `attempt`, then the init container to completion, then the app running. */
  async function startPod(attempt: number) {
    const podSandboxId = (await stack.client.runPodSandbox({ config: podSandboxConfig(pod, attempt) })).podSandboxId!;
    const ids: Record<'init' | 'app', string> = { init: '', app: '' };
    for (const name of ['init', 'app'] as const) {
      const config = containerConfig(pod, spec(name, attempt), imageId, imageName);
      ids[name] = (await stack.client.createContainer({ podSandboxId, config, sandboxConfig: podSandboxConfig(pod, attempt) })).containerId!;
      await stack.client.startContainer({ containerId: ids[name] });
      await waitState(ids[name], name === 'init' ? ContainerState.CONTAINER_EXITED : ContainerState.CONTAINER_RUNNING);
    }
    return { podSandboxId, ids };
  }

  before(async () => {
    await stack.start({
      busybox: { tag: '1.36' },
      pull: false,
      prepare: async (work) => {
        pod = preparePod(work, 'db-0', 'shop', `0b9d4e7c-${process.pid.toString(16).padStart(4, '0')}-4f2a-8c1d-ksbx`, `/berth-e2e-kubepods-sbx-${process.pid}`);
        await createPodCgroup(pod);
      },
    });
    imageName = stack.image;
    imageId = (await stack.client.pullImage({ image: { image: imageName, userSpecifiedImage: imageName }, sandboxConfig: podSandboxConfig(pod) })).imageRef!;
  });

  after(async () => {
    await stack.stop();
    if (pod) await removePodCgroup(pod);
  });

  it('pause killed → NOTREADY; kubelet stops the pod, runs attempt 1 with new containers; GC of the old sandbox keeps the shared log directory', async () => {
    const first = await startPod(0);
    const info = JSON.parse((await stack.client.podSandboxStatus({ podSandboxId: first.podSandboxId, verbose: true })).info!.info) as { pid: number };
    expect(info.pid).to.be.a('number').and.greaterThan(1);
    process.kill(info.pid, 'SIGKILL');
    await waitFor('the sandbox NOTREADY', async () => ((await stack.client.podSandboxStatus({ podSandboxId: first.podSandboxId })).status?.state === PodSandboxState.SANDBOX_NOTREADY ? true : undefined));

    // kubelet's killPodWithSyncResult: running containers with the grace period, then the sandbox.
    await stack.client.stopContainer({ containerId: first.ids.app, timeout: 30 });
    expect((await status(first.ids.app)).state).to.equal(ContainerState.CONTAINER_EXITED);
    await stack.client.stopPodSandbox({ podSandboxId: first.podSandboxId });

    const second = await startPod(1);
    expect(second.podSandboxId).to.not.equal(first.podSandboxId);
    const s = (await stack.client.podSandboxStatus({ podSandboxId: second.podSandboxId })).status!;
    expect(s.state).to.equal(PodSandboxState.SANDBOX_READY);
    expect(num(s.metadata?.attempt)).to.equal(1);
    expect(s.network?.ip ?? '').to.match(/^\d+\.\d+\.\d+\.\d+$/);
    for (const name of ['init', 'app'] as const) {
      const c = await status(second.ids[name]);
      expect(num(c.metadata?.attempt)).to.equal(1);
      expect(c.logPath).to.equal(path.join(pod.logDirectory, name, '1.log'));
    }
    expect(readCriLog(path.join(pod.logDirectory, 'init', '1.log')).map((l) => l.text)).to.deep.equal(['init init']);

    const sandboxes = ((await stack.client.listPodSandbox({ filter: { labelSelector: { 'io.kubernetes.pod.uid': pod.uid } } })).items ?? []).map((p) => [num(p.metadata?.attempt), p.state]);
    expect(sandboxes.sort()).to.deep.equal([
      [0, PodSandboxState.SANDBOX_NOTREADY],
      [1, PodSandboxState.SANDBOX_READY],
    ]);

    // kubelet's sandbox GC removes the old one (and so its containers); the new attempt's logs stay.
    await stack.client.removePodSandbox({ podSandboxId: first.podSandboxId });
    const gone = await stack.client.containerStatus({ containerId: first.ids.init }).then(
      () => 'found',
      (e: unknown) => (isServiceError(e) ? e.code : -1),
    );
    expect(gone).to.equal(NOT_FOUND);
    for (const f of ['init/1.log', 'app/1.log']) expect(fs.existsSync(path.join(pod.logDirectory, f)), f).to.equal(true);
    const before = readCriLog(path.join(pod.logDirectory, 'app', '1.log')).length;
    await waitFor('the new app still logging', async () => (readCriLog(path.join(pod.logDirectory, 'app', '1.log')).length > before ? true : undefined), 5000);
    expect((await status(second.ids.app)).state).to.equal(ContainerState.CONTAINER_RUNNING);

    await stack.client.stopPodSandbox({ podSandboxId: second.podSandboxId });
    await stack.client.removePodSandbox({ podSandboxId: second.podSandboxId });
    expect((await stack.client.listPodSandbox({})).items ?? []).to.deep.equal([]);
  });
});
