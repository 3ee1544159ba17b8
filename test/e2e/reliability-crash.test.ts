/**
 * Crash consistency at chosen moments: berthd is SIGKILLed a few milliseconds into RunPodSandbox,
 * CreateContainer+StartContainer, PullImage and RemovePodSandbox (several delays each, so the kill
 * lands in different steps). After the restart each object is either complete and usable, or
 * absent, or (Remove) still listed and removable — and once everything is removed, nothing of the
 * instance is left on the host.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { podConfig, processAlive, RestartableBerthd, TEST_IMAGE } from './reliability-support';

const SANDBOX_READY = 0;
const CONTAINER_RUNNING = 1;
const DELAYS_MS = [0, 15, 40, 80, 150, 300, 600];
const CLEAN = { mounts: [], nsPins: [], ipLeases: [], podStateDirs: [], podVolatileDirs: [], containerDirs: [], exitFiles: [], cniCache: [], processes: [], pauses: [], holdingFiles: [], runtimeState: [] };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('e2e: reliability — SIGKILL in the middle of a request', function () {
  this.timeout(300_000);
  let b: RestartableBerthd;

  before(async () => {
    b = await RestartableBerthd.create('berth-rel-crash');
    await b.start();
  });
  after(async () => {
    await b?.destroy();
  });

  /** Sends `call`, SIGKILLs berthd after `delayMs`, restarts; returns whether the reply arrived. */
  async function killDuring(call: () => Promise<unknown>, delayMs: number): Promise<boolean> {
    const pending = call().then(
      () => true,
      () => false,
    );
    await sleep(delayMs);
    await b.stop('SIGKILL');
    const replied = await pending;
    await b.start();
    return replied;
  }

  async function removeAllAndCheckClean(): Promise<void> {
    const c = b.client();
    for (const x of (await c.listContainers({})).containers ?? []) await c.removeContainer({ containerId: x.id! });
    for (const p of (await c.listPodSandbox({})).items ?? []) {
      await c.stopPodSandbox({ podSandboxId: p.id! });
      await c.removePodSandbox({ podSandboxId: p.id! });
    }
    expect(b.leaks()).to.deep.equal(CLEAN);
  }

  it('PullImage: afterwards the image is complete and runnable, or absent with no partial files', async () => {
    for (const delay of DELAYS_MS) {
      await killDuring(() => b.client().pullImage({ image: { image: TEST_IMAGE } }), delay);
      const c = b.client();
      const images = (await c.listImages({})).images ?? [];
      const dir = path.join(b.root, 'images');
      expect(fs.readdirSync(path.join(dir, 'blobs', 'ingest')), `ingest after a kill at ${delay} ms`).to.deep.equal([]);
      expect(fs.readdirSync(path.join(dir, 'tmp')), `unpack temp after a kill at ${delay} ms`).to.deep.equal([]);
      if (images.length > 0) {
        // complete: a container runs from it
        const pod = podConfig(b, `pull-${delay}`);
        const podId = (await c.runPodSandbox({ config: pod })).podSandboxId!;
        const { containerId } = await c.createContainer({ podSandboxId: podId, config: { metadata: { name: 'x', attempt: 0 }, image: { image: TEST_IMAGE }, command: ['true'] }, sandboxConfig: pod });
        await c.startContainer({ containerId: containerId! });
        await removeAllAndCheckClean();
        await c.removeImage({ image: { image: TEST_IMAGE } });
      }
      expect((await c.listImages({})).images).to.deep.equal([]);
    }
  });

  it('RunPodSandbox: afterwards the pod is READY and usable, or absent; nothing leaks', async () => {
    await b.client().pullImage({ image: { image: TEST_IMAGE } });
    const outcomes: string[] = [];
    for (const delay of DELAYS_MS) {
      const pod = podConfig(b, `run-${delay}`);
      const replied = await killDuring(() => b.client().runPodSandbox({ config: pod }), delay);
      const c = b.client();
      const pods = (await c.listPodSandbox({})).items ?? [];
      expect(pods.length, `pods after a kill at ${delay} ms`).to.be.at.most(1);
      if (replied) expect(pods).to.have.length(1); // a reply means the pod was complete on disk
      if (pods.length === 1) {
        expect(pods[0].state, 'a listed pod is complete').to.equal(SANDBOX_READY);
        // kubelet's retry finds the same pod
        expect((await c.runPodSandbox({ config: pod })).podSandboxId).to.equal(pods[0].id);
      }
      outcomes.push(`${delay}ms:${pods.length === 1 ? 'complete' : 'absent'}`);
      await removeAllAndCheckClean();
    }
    console.log(`      RunPodSandbox kill outcomes: ${outcomes.join(' ')}`);
  });

  it('CreateContainer + StartContainer: afterwards the container is startable/running, or absent; nothing leaks', async () => {
    await b.client().pullImage({ image: { image: TEST_IMAGE } });
    const outcomes: string[] = [];
    for (const delay of DELAYS_MS) {
      const c0 = b.client();
      const pod = podConfig(b, `ctr-${delay}`);
      const podId = (await c0.runPodSandbox({ config: pod })).podSandboxId!;
      const config = { metadata: { name: 'app', attempt: 0 }, image: { image: TEST_IMAGE }, command: ['sleep', '600'] };
      await killDuring(async () => {
        const { containerId } = await c0.createContainer({ podSandboxId: podId, config, sandboxConfig: pod });
        await c0.startContainer({ containerId: containerId! });
      }, delay);
      const c = b.client();
      const containers = (await c.listContainers({})).containers ?? [];
      expect(containers.length).to.be.at.most(1);
      // kubelet retries: CreateContainer returns the same container (or builds it now), Start makes it run.
      const { containerId } = await c.createContainer({ podSandboxId: podId, config, sandboxConfig: pod });
      if (containers.length === 1) expect(containerId).to.equal(containers[0].id);
      const state = (await c.containerStatus({ containerId: containerId! })).status?.state;
      if (state !== CONTAINER_RUNNING) await c.startContainer({ containerId: containerId! });
      expect((await c.containerStatus({ containerId: containerId! })).status?.state).to.equal(CONTAINER_RUNNING);
      outcomes.push(`${delay}ms:${containers.length === 1 ? `kept(${state === CONTAINER_RUNNING ? 'running' : 'created'})` : 'absent'}`);
      // ...and is monitored: its conmon runs (else no log, no exit code, and Stop waits in vain).
      const conmonPid = Number(fs.readFileSync(path.join(b.root, 'containers', containerId!, 'conmon.pid'), 'utf8').trim());
      expect(processAlive(conmonPid) && fs.readFileSync(`/proc/${conmonPid}/comm`, 'utf8').trim(), `conmon of the container after a kill at ${delay} ms`).to.equal('conmon');
      await removeAllAndCheckClean();
    }
    console.log(`      CreateContainer+Start kill outcomes: ${outcomes.join(' ')}`);
  });

  it('RemovePodSandbox: afterwards the pod is gone, or still listed and removable; nothing leaks', async () => {
    await b.client().pullImage({ image: { image: TEST_IMAGE } });
    for (const delay of DELAYS_MS) {
      const c0 = b.client();
      const pod = podConfig(b, `rm-${delay}`);
      const podId = (await c0.runPodSandbox({ config: pod })).podSandboxId!;
      const { containerId } = await c0.createContainer({ podSandboxId: podId, config: { metadata: { name: 'app', attempt: 0 }, image: { image: TEST_IMAGE }, command: ['sleep', '600'] }, sandboxConfig: pod });
      await c0.startContainer({ containerId: containerId! });
      await killDuring(async () => {
        await c0.stopPodSandbox({ podSandboxId: podId });
        await c0.removePodSandbox({ podSandboxId: podId });
      }, delay);
      const c = b.client();
      const pods = (await c.listPodSandbox({})).items ?? [];
      expect(pods.map((p) => p.id).filter((id) => id !== podId)).to.deep.equal([]);
      await removeAllAndCheckClean();
    }
  });
});
