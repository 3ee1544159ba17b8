import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { silentLogger } from '../../common/logger';
import type { SandboxInfo } from '../../pod/types';
import type { ContainerState } from '../../runtime/container-record';
import type { ContainerStatusView } from '../../runtime/container-view';
import { shContainerConfig } from '../../runtime/testing/container-manager-fixtures';
import { runningContainerView } from '../../runtime/testing/container-view-fixtures';
import { runtime } from '../api/generated/cri';
import type { CallContext } from '../handlers';
import { encodingOf } from '../pre-encoded';
import { realStoresEach } from '../testing/real-stores-fixture';
import { countEncodes, wireOf } from '../testing/wire-fixtures';
import { containerHandlers, type ContainerHandlerDeps } from './container-handlers';
import { podSandboxHandlers, type PodSandboxService } from './pod-handlers';

const call: CallContext = { signal: new AbortController().signal, logger: silentLogger };
const v1 = runtime.v1;



/** Labels and annotations as kubelet sets them on a container. */
function kubeletMetadata(i: number): Pick<ContainerStatusView, 'labels' | 'annotations'> {
  return {
    labels: { 'io.kubernetes.pod.name': `web-${i}`, 'io.kubernetes.pod.namespace': 'default', 'io.kubernetes.pod.uid': `0f6c1e2a-5b7d-4c1e-9a3f-${String(i).padStart(12, '0')}`, 'io.kubernetes.container.name': 'app' },
    annotations: { 'io.kubernetes.container.hash': 'c5d1a2b3', 'io.kubernetes.container.restartCount': '0', 'io.kubernetes.container.terminationMessagePath': '/dev/termination-log', 'io.kubernetes.container.terminationMessagePolicy': 'File' },
  };
}

function frozenContainers(): ContainerStatusView[] {
  const states: ContainerState[] = ['created', 'running', 'exited', 'unknown'];
  const views = states.map((state, i) => runningContainerView(`c${i}`, 'p', { state, attempt: i, createdAtNs: 1.7e18 + i, ...kubeletMetadata(i) }));
  views.push(runningContainerView('bare', 'p', { createdAtNs: 0 })); // no labels, no annotations, defaults left out
  views.push(runningContainerView('big', 'p', { labels: { k: 'v'.repeat(20000) }, annotations: { a: 'x'.repeat(200) } })); // lengths of 3-byte varints
  return views.map((v) => Object.freeze(v));
}

function fakeContainers(views: () => ContainerStatusView[]): ContainerHandlerDeps['containers'] {
  return { listContainers: () => views(), onEvent: () => () => undefined } as unknown as ContainerHandlerDeps['containers'];
}

function pod(id: string, state: SandboxInfo['state'], labels: Record<string, string>, annotations: Record<string, string>): SandboxInfo {
  return {
    id, name: `n-${id}`, namespace: 'default', uid: `u-${id}`, attempt: 1, state, createdAt: 1.7e18, runtimeHandler: id === 'p0' ? '' : 'runc',
    namespaceModes: { network: 'pod', ipc: 'pod', pid: 'container' }, hostname: id, logDirectory: '/var/log/pods/x', labels, annotations,
    config: {}, namespacePaths: {},
  } as SandboxInfo;
}

describe('cri/runtime list answers: encoded once per item state, never stale', () => {
  it('ListContainers bytes are exactly what the generated encoder writes: every state, with and without labels and annotations, and none', async () => {
    let views = frozenContainers();
    const h = containerHandlers({ containers: fakeContainers(() => views) });
    for (const list of [views, [], views.slice(1, 2)]) {
      views = list;
      const res = await h.ListContainers!({}, call);
      const bytes = expectGeneratedEncoding('ListContainers', res, v1.ListContainersResponse);
      expect(Buffer.from(bytes).equals(Buffer.from(v1.ListContainersResponse.encode({ containers: list.map(plainContainer) }).finish()))).to.equal(true);
      expect(v1.ListContainersResponse.decode(bytes).containers.map((c) => c.id)).to.deep.equal(list.map((v) => v.id));
    }
  });

  it('ListPodSandbox bytes are exactly what the generated encoder writes: ready and not ready, with and without labels and annotations, and none', async () => {
    const all = [
      pod('p0', 'ready', {}, {}),
      pod('p1', 'notready', { 'io.kubernetes.pod.name': 'web', 'io.kubernetes.pod.namespace': 'default', 'io.kubernetes.pod.uid': 'u1', app: 'web' }, { 'kubernetes.io/config.seen': '2026-12-07T15:00:00Z', 'kubernetes.io/config.source': 'api' }),
      pod('p2', 'ready', { big: 'y'.repeat(20000) }, {}),
    ].map((p) => Object.freeze(p));
    let items: SandboxInfo[] = all;
    const h = podSandboxHandlers({ pods: { listPodSandboxes: () => items } as unknown as PodSandboxService });
    for (const list of [all, [], all.slice(1, 2)]) {
      items = list;
      const res = await h.ListPodSandbox!({}, call);
      const bytes = expectGeneratedEncoding('ListPodSandbox', res, v1.ListPodSandboxResponse);
      const decoded = v1.ListPodSandboxResponse.decode(bytes).items;
      expect(decoded.map((p) => [p.id, p.state])).to.deep.equal(list.map((p) => [p.id, p.state === 'ready' ? v1.PodSandboxState.SANDBOX_READY : v1.PodSandboxState.SANDBOX_NOTREADY]));
      expect(decoded.map((p) => p.labels)).to.deep.equal(list.map((p) => p.labels));
    }
  });

  it('views that are not frozen are converted on every call (a change in place shows), and their answers are not kept', async () => {
    const view = runningContainerView('c1', 'p1', kubeletMetadata(1));
    const h = containerHandlers({ containers: fakeContainers(() => [view]) });
    const a = await h.ListContainers!({}, call);
    view.state = 'exited';
    view.labels = { changed: 'yes' };
    const b = await h.ListContainers!({}, call);
    expect(b).to.not.equal(a);
    const decoded = v1.ListContainersResponse.decode(wireOf('ListContainers', b)).containers[0];
    expect(decoded.state).to.equal(v1.ContainerState.CONTAINER_EXITED);
    expect(decoded.labels).to.deep.equal({ changed: 'yes' });
  });

  describe('with the real stores', () => {
    const stores = realStoresEach('berth-list-answers-');

    const exitOf = (id: string): Promise<void> =>
      new Promise((resolve) => stores.containers.onEvent((e) => void (e.type === 'stopped' && e.containerId === id && resolve())));

    it('ListContainers: repeat calls encode nothing; create, start, exit and remove show in the very next call; filters still apply', async () => {
      const h = containerHandlers({ containers: stores.containers });
      const list = async (filter?: runtime.v1.IContainerFilter) =>
        v1.ListContainersResponse.decode(wireOf('ListContainers', await h.ListContainers!({ filter }, call))).containers.map((c) => [c.id, c.state]);
      const { CREATED, RUNNING, EXITED } = { CREATED: v1.ContainerState.CONTAINER_CREATED, RUNNING: v1.ContainerState.CONTAINER_RUNNING, EXITED: v1.ContainerState.CONTAINER_EXITED };
      const a = await stores.containers.createContainer('pod1', shContainerConfig({ labels: { app: 'a' } }));
      expect(await list()).to.deep.equal([[a, CREATED]]);
      const b = await stores.containers.createContainer('pod1', shContainerConfig({ name: 'second', labels: { app: 'b' } }));
      expect(await list()).to.deep.equal([[a, CREATED], [b, CREATED]]);
      await stores.containers.startContainer(a);
      expect(await list()).to.deep.equal([[a, RUNNING], [b, CREATED]]);
      await countEncodes(v1.Container, async (encodes) => {
        const first = await h.ListContainers!({}, call);
        expect(await h.ListContainers!({}, call), 'the same answer while nothing changed').to.equal(first);
        expect(await list()).to.deep.equal([[a, RUNNING], [b, CREATED]]);
        expect(encodes()).to.equal(0);
      });
      expect(await list({ state: { state: RUNNING } })).to.deep.equal([[a, RUNNING]]);
      expect(await list({ labelSelector: { app: 'b' } })).to.deep.equal([[b, CREATED]]);
      expect(await list({ id: b.slice(0, 8) })).to.deep.equal([[b, CREATED]]);
      expect(await list({ podSandboxId: 'pod1' })).to.deep.equal([[a, RUNNING], [b, CREATED]]);
      expect(await list({ podSandboxId: 'other' })).to.deep.equal([]);
      const exited = exitOf(a);
      writeFileSync(path.join(stores.dir, 'run', 'exits', a), '3');
      await exited;
      expect(await list()).to.deep.equal([[a, EXITED], [b, CREATED]]);
      await stores.containers.removeContainer(a);
      expect(await list()).to.deep.equal([[b, CREATED]]);
      await stores.containers.removeContainer(b);
      expect(await list()).to.deep.equal([]);
    });

    it('ListPodSandbox: repeat calls encode nothing; run, stop and remove show in the very next call; filters still apply', async () => {
      const h = podSandboxHandlers({ pods: stores.pods });
      const config = (name: string) => ({ metadata: { name, namespace: 'ns', uid: `u-${name}`, attempt: 0 }, labels: { app: name } });
      const list = async (filter?: runtime.v1.IPodSandboxFilter) =>
        v1.ListPodSandboxResponse.decode(wireOf('ListPodSandbox', await h.ListPodSandbox!({ filter }, call))).items.map((p) => [p.id, p.state]);
      const { READY, NOTREADY } = { READY: v1.PodSandboxState.SANDBOX_READY, NOTREADY: v1.PodSandboxState.SANDBOX_NOTREADY };
      expect(await list()).to.deep.equal([]);
      const web = (await h.RunPodSandbox!({ config: config('web') }, call)).podSandboxId!;
      expect(await list()).to.deep.equal([[web, READY]]);
      const db = (await h.RunPodSandbox!({ config: config('db') }, call)).podSandboxId!;
      expect(await list()).to.deep.equal([[web, READY], [db, READY]]);
      await countEncodes(v1.PodSandbox, async (encodes) => {
        const first = await h.ListPodSandbox!({}, call);
        expect(await h.ListPodSandbox!({}, call), 'the same answer while nothing changed').to.equal(first);
        expect(encodes()).to.equal(0);
        await h.PodSandboxStatus!({ podSandboxId: web }, call);
        expect(await h.ListPodSandbox!({}, call), 'a status call does not change the list').to.equal(first);
      });
      await h.StopPodSandbox!({ podSandboxId: db }, call);
      expect(await list()).to.deep.equal([[web, READY], [db, NOTREADY]]);
      expect(await list({ state: { state: NOTREADY } })).to.deep.equal([[db, NOTREADY]]);
      expect(await list({ labelSelector: { app: 'web' } })).to.deep.equal([[web, READY]]);
      expect(await list({ id: db.slice(0, 8) })).to.deep.equal([[db, NOTREADY]]);
      await h.RemovePodSandbox!({ podSandboxId: db }, call);
      expect(await list()).to.deep.equal([[web, READY]]);
      await h.StopPodSandbox!({ podSandboxId: web }, call);
      expect(await list()).to.deep.equal([[web, NOTREADY]]);
      await h.RemovePodSandbox!({ podSandboxId: web }, call);
      expect(await list()).to.deep.equal([]);
    });
  });
});

/** The Container message of `v` written out by hand (not through the code under test). */
/** The answer carries its encoding, byte for byte what the generated encoder writes, and that is what goes on the wire. */
function expectGeneratedEncoding<T extends object>(rpc: 'ListContainers' | 'ListPodSandbox', res: T, type: { encode(m: T): { finish(): Uint8Array } }): Uint8Array {
  const bytes = encodingOf(res);
  expect(bytes, 'the answer carries its encoding').to.be.instanceOf(Uint8Array);
  expect(Buffer.from(bytes!).equals(Buffer.from(type.encode(res).finish()))).to.equal(true);
  expect(wireOf(rpc, res)).to.equal(bytes);
  return bytes!;
}

function plainContainer(v: ContainerStatusView): runtime.v1.IContainer {
  return {
    id: v.id, podSandboxId: v.podSandboxId, metadata: { name: v.name, attempt: v.attempt }, image: { image: v.image.name }, imageRef: v.image.ref, imageId: v.image.id,
    state: ({ created: 0, running: 1, exited: 2, unknown: 3 } as const)[v.state], createdAt: v.createdAtNs, labels: { ...v.labels }, annotations: { ...v.annotations },
  };
}
