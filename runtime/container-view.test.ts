import { expect } from 'chai';
import type { ContainerRecord } from './container-record';
import { PodViewLists, statusView, type ContainerStatusView } from './container-view';

describe('runtime/statusView', () => {
  it('is a copy: changing the view (labels, mounts, resources, user, image) leaves the record alone', () => {
    const rec = {
      id: 'c1',
      podSandboxId: 'p1',
      name: 'app',
      attempt: 0,
      state: 'running',
      createdAtNs: 1,
      startedAtNs: 2,
      finishedAtNs: 0,
      exitCode: 0,
      image: { requested: 'busybox', id: 'sha256:1', ref: 'busybox@sha256:2' },
      reason: '',
      message: '',
      labels: { a: '1' },
      annotations: { b: '2' },
      mounts: [{ containerPath: '/m', hostPath: '/h', readonly: true, uidMappings: [{ containerId: 0, hostId: 1000, length: 1 }] }],
      logPath: '/log',
      resources: { cpuShares: 2, hugepageLimits: [{ pageSize: '2MB', limit: 0 }] },
      user: { uid: 1, gid: 2, supplementalGroups: [3] },
      pid: 42,
    } as unknown as ContainerRecord;
    const before = structuredClone(rec);
    const v = statusView(rec);
    expect(v).to.deep.include({ id: 'c1', state: 'running', pid: 42, stopSignal: '', image: { requested: 'busybox', id: 'sha256:1', ref: 'busybox@sha256:2', name: 'busybox' } });
    v.labels.a = 'x';
    v.annotations.b = 'x';
    (v.mounts[0] as unknown as { uidMappings: Array<{ hostId: number }> }).uidMappings[0].hostId = 0;
    (v.resources as { hugepageLimits: Array<{ limit: number }> }).hugepageLimits[0].limit = 5;
    v.user.supplementalGroups.push(0);
    v.image.id = 'x';
    expect(rec).to.deep.equal(before);
  });
});

describe('runtime/PodViewLists', () => {
  it("keeps a pod's list until the store changes, and nothing for a pod whose containers are gone", () => {
    const lists = new PodViewLists();
    const view = Object.freeze({ id: 'c1', podSandboxId: 'pod1' }) as unknown as ContainerStatusView;
    const kept = lists.get('pod1', 1, () => [view]);
    expect(lists.get('pod1', 1, () => [])).to.equal(kept);
    expect(lists.size).to.equal(1);
    // pod1's container is removed (a store change), then the pod: its removal and its events ask again.
    expect(lists.get('pod1', 2, () => [])).to.deep.equal([]);
    expect(lists.get('pod1', 2, () => [])).to.deep.equal([]);
    expect(lists.size, 'no entry left for the removed pod').to.equal(0);
  });
});
