/**
 * Concurrency and kubelet-style retries through a real berthd: 20 parallel RunPodSandbox (each
 * sent twice at once, as a kubelet retry after its deadline would be), 50 parallel
 * CreateContainer (also doubled) + StartContainer; every call succeeds, no second object is ever
 * built, and what is listed matches what runs on the host.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import { status as grpcStatus } from '@grpc/grpc-js';
import { isServiceError } from '../support/cri-client';
import { podConfig, processAlive, RestartableBerthd, TEST_IMAGE } from './reliability-support';

const CONTAINER_RUNNING = 1;
const SANDBOX_READY = 0;

describe('e2e: reliability — parallel and duplicate requests', function () {
  this.timeout(300_000);
  let b: RestartableBerthd;

  before(async () => {
    b = await RestartableBerthd.create('berth-rel-conc');
    await b.start();
    await b.client().pullImage({ image: { image: TEST_IMAGE } });
  });
  after(async () => {
    await b?.destroy();
  });

  it('20 parallel RunPodSandbox, each duplicated: 20 pods, one pause each, all READY with distinct IPs', async () => {
    const c = b.client();
    const configs = Array.from({ length: 20 }, (_, i) => podConfig(b, `par-${i}`));
    const replies = await Promise.all(configs.flatMap((config) => [c.runPodSandbox({ config }), c.runPodSandbox({ config })]));
    const ids = replies.map((r) => r.podSandboxId!);
    for (let i = 0; i < 20; i++) expect(ids[2 * i], `retry of pod ${i}`).to.equal(ids[2 * i + 1]);
    const unique = [...new Set(ids)];
    expect(unique).to.have.length(20);
    const listed = (await c.listPodSandbox({})).items!;
    expect(listed.map((p) => p.id).sort()).to.deep.equal(unique.sort());
    const ips = new Set<string>();
    for (const id of unique) {
      const r = await c.podSandboxStatus({ podSandboxId: id, verbose: true });
      expect(r.status?.state).to.equal(SANDBOX_READY);
      ips.add(r.status?.network?.ip ?? '');
      expect(processAlive(Number(JSON.parse(r.info?.info ?? '{}').pid))).to.equal(true);
    }
    expect(ips.size).to.equal(20);
    expect(fs.readdirSync(`${b.runRoot}/ns/net`).sort()).to.deep.equal(unique.sort());
    // A retry after completion still returns the same id; a different config under the name is refused.
    expect((await c.runPodSandbox({ config: configs[0] })).podSandboxId).to.equal(ids[0]);
    const conflict = await c.runPodSandbox({ config: { ...configs[0], hostname: 'other' } }).then(() => undefined, (e: unknown) => e);
    expect(isServiceError(conflict) && conflict.code).to.equal(grpcStatus.ALREADY_EXISTS);
    expect(String((conflict as Error).message)).to.contain(ids[0]);
    await Promise.all(unique.map(async (id) => {
      await c.stopPodSandbox({ podSandboxId: id });
      await c.removePodSandbox({ podSandboxId: id });
    }));
    expect((await c.listPodSandbox({})).items).to.deep.equal([]);
    expect(b.leaks().ipLeases).to.deep.equal([]);
  });

  it('50 parallel CreateContainer (each duplicated) + StartContainer in one pod: 50 running containers', async () => {
    const c = b.client();
    const pod = podConfig(b, 'fifty');
    const podId = (await c.runPodSandbox({ config: pod })).podSandboxId!;
    const create = (i: number) =>
      c.createContainer({
        podSandboxId: podId,
        config: { metadata: { name: `c${i}`, attempt: 0 }, image: { image: TEST_IMAGE }, command: ['sleep', '600'], logPath: `c${i}.log` },
        sandboxConfig: pod,
      });
    const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => [create(i), create(i)]).flat());
    const ids = replies.map((r) => r.containerId!);
    for (let i = 0; i < 50; i++) expect(ids[2 * i], `retry of container ${i}`).to.equal(ids[2 * i + 1]);
    const unique = [...new Set(ids)];
    expect(unique).to.have.length(50);
    await Promise.all(unique.map((containerId) => c.startContainer({ containerId })));
    const listed = (await c.listContainers({})).containers!;
    expect(listed).to.have.length(50);
    expect(listed.every((x) => x.state === CONTAINER_RUNNING)).to.equal(true);
    for (const id of unique.slice(0, 5)) {
      const r = await c.containerStatus({ containerId: id, verbose: true });
      expect(processAlive(Number(JSON.parse(r.info?.info ?? '{}').pid))).to.equal(true);
    }
    // A duplicate after the fact returns the same id; a different config under the name is refused.
    expect((await create(7)).containerId).to.equal(ids[14]);
    const conflict = await c
      .createContainer({ podSandboxId: podId, config: { metadata: { name: 'c7', attempt: 0 }, image: { image: TEST_IMAGE }, command: ['sleep', '1'] }, sandboxConfig: pod })
      .then(() => undefined, (e: unknown) => e);
    expect(isServiceError(conflict) && conflict.code).to.equal(grpcStatus.ALREADY_EXISTS);
    await c.stopPodSandbox({ podSandboxId: podId });
    await c.removePodSandbox({ podSandboxId: podId });
    expect((await c.listContainers({})).containers).to.deep.equal([]);
    const leaks = b.leaks();
    expect({ mounts: leaks.mounts, containerDirs: leaks.containerDirs, processes: leaks.processes }).to.deep.equal({ mounts: [], containerDirs: [], processes: [] });
  });

  it('a kubelet retry after its own deadline expired gets the object the first call built, never a second one', async () => {
    const c = b.client();
    const pod = podConfig(b, 'deadline');
    const first = await c.runPodSandbox({ config: pod }, { timeoutMs: 5 }).then(() => undefined, (e: unknown) => e);
    expect(isServiceError(first) && first.code, 'the first call times out on the client').to.equal(grpcStatus.DEADLINE_EXCEEDED);
    const podId = (await c.runPodSandbox({ config: pod })).podSandboxId!; // joins the in-flight creation, or finds it done
    expect((await c.listPodSandbox({})).items!.map((p) => p.id)).to.deep.equal([podId]);

    const config = { metadata: { name: 'app', attempt: 0 }, image: { image: TEST_IMAGE }, command: ['sleep', '600'] };
    const firstCreate = await c.createContainer({ podSandboxId: podId, config, sandboxConfig: pod }, { timeoutMs: 2 }).then(() => undefined, (e: unknown) => e);
    expect(isServiceError(firstCreate) && firstCreate.code).to.equal(grpcStatus.DEADLINE_EXCEEDED);
    const { containerId } = await c.createContainer({ podSandboxId: podId, config, sandboxConfig: pod });
    await c.startContainer({ containerId: containerId! });
    expect((await c.listContainers({})).containers!.map((x) => x.id)).to.deep.equal([containerId]);
    await c.stopPodSandbox({ podSandboxId: podId });
    await c.removePodSandbox({ podSandboxId: podId });
    expect(b.leaks().ipLeases).to.deep.equal([]);
  });
});
