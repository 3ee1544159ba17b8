import { expect } from 'chai';
import { silentLogger } from '../../common/logger';
import { PodManager } from '../../pod/pod-manager';
import type { ContainerStatusView } from '../../runtime/container-view';
import { runtime } from '../api/generated/cri';
import type { CallContext } from '../handlers';
import { podSandboxHandlers } from './pod-handlers';
import { fakePodManagerOptions } from '../../pod/testing/pod-manager-fixtures';
import { tempDirEach } from '../../common/testing/temp-dir-fixtures';
import { runningContainerView } from '../../runtime/testing/container-view-fixtures';

const call: CallContext = { signal: new AbortController().signal, logger: silentLogger };

describe('cri/runtime PodSandboxStatus containers_statuses and timestamp (evented PLEG)', () => {
  let dir: string;
  let manager: PodManager;

  tempDirEach('berth-podst-', async (d) => {
    dir = d;
    manager = await PodManager.create(fakePodManagerOptions(dir));
  });
  afterEach(() => manager.close());

  const container = (id: string, podSandboxId: string): ContainerStatusView =>
    runningContainerView(id, podSandboxId, { startedAtNs: 2, image: { requested: 'sha256:i', id: 'sha256:i', ref: 'busybox@sha256:d', name: 'busybox' }, pid: 9 });

  it("carries the pod's container statuses and when they were taken, verbose or not", async () => {
    const asked: string[] = [];
    const handlers = podSandboxHandlers({
      pods: manager,
      // a source that also returns a stranger: the handler keeps only the pod's own
      containerStatuses: (id) => (asked.push(id), [container('c1', id), container('c2', id), container('x', 'other')]),
      nowNs: () => 1.7e18,
    });
    const id = (await handlers.RunPodSandbox!({ config: { metadata: { name: 'web', namespace: 'ns', uid: 'u', attempt: 0 } } }, call)).podSandboxId!;
    for (const verbose of [false, true]) {
      const res = await handlers.PodSandboxStatus!({ podSandboxId: id.slice(0, 12), verbose }, call);
      expect(res.timestamp).to.equal(1.7e18);
      expect(res.containersStatuses!.map((c) => c.id)).to.deep.equal(['c1', 'c2']);
      expect(res.containersStatuses![0]).to.deep.include({ state: runtime.v1.ContainerState.CONTAINER_RUNNING, image: { image: 'busybox' }, imageId: 'sha256:i', stopSignal: runtime.v1.Signal.SIGTERM });
      const back = runtime.v1.PodSandboxStatusResponse.decode(runtime.v1.PodSandboxStatusResponse.encode(res).finish());
      expect(back.containersStatuses).to.have.length(2);
    }
    expect(asked).to.deep.equal([id, id]); // resolved full id, not the prefix
  });

  it('without a container source: an empty list and a wall-clock timestamp', async () => {
    const handlers = podSandboxHandlers({ pods: manager });
    const id = (await handlers.RunPodSandbox!({ config: { metadata: { name: 'db', namespace: 'ns', uid: 'u2', attempt: 0 } } }, call)).podSandboxId!;
    const before = Date.now() * 1e6;
    const res = await handlers.PodSandboxStatus!({ podSandboxId: id }, call);
    expect(res.containersStatuses).to.deep.equal([]);
    expect(res.timestamp).to.be.at.least(before - 1e6);
  });
});
