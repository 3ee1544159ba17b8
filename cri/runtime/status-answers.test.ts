import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { silentLogger } from '../../common/logger';
import { PodManager } from '../../pod/pod-manager';
import { fakePodManagerOptions } from '../../pod/testing/pod-manager-fixtures';
import { ContainerManager } from '../../runtime/container-manager';
import { fakeManagerOptions, managerFakes, shContainerConfig, type ManagerFakes } from '../../runtime/testing/container-manager-fixtures';
import { ContainerEventHub } from '../../runtime/container-events';
import { runningContainerView } from '../../runtime/testing/container-view-fixtures';
import { tempDirEach } from '../../common/testing/temp-dir-fixtures';
import { runtime } from '../api/generated/cri';
import { CRI_METHODS, type CallContext } from '../handlers';
import { encodingOf } from '../pre-encoded';
import { containerHandlers } from './container-handlers';
import { encodedStatusOf } from './container-response-convert';
import { podSandboxHandlers, type PodSandboxService } from './pod-handlers';
import { encodeResponse } from './pod-sandbox-status';
import { filled } from './wire-splice';

const call: CallContext = { signal: new AbortController().signal, logger: silentLogger };
const v1 = runtime.v1;

/** What the server sends for `message` of `method` (the table's codec, as the dispatcher calls it). */
function wireOf(method: 'ContainerStatus' | 'PodSandboxStatus', message: object): Uint8Array {
  return (CRI_METHODS[method].response.encode as (m: object) => { finish(): Uint8Array })(message).finish();
}

/** Counts calls of a generated message class's encode while `fn` runs. */
async function countEncodes(codec: { encode: (...args: never[]) => unknown }, fn: (count: () => number) => Promise<void>): Promise<void> {
  const original = codec.encode;
  let n = 0;
  codec.encode = ((...args: never[]) => (n++, original.apply(codec, args))) as typeof original;
  try {
    await fn(() => n);
  } finally {
    codec.encode = original;
  }
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(() => setImmediate(resolve)));

/** The exited event of `id` on `manager`. */
function exitOf(manager: ContainerManager, id: string): Promise<void> {
  return new Promise((resolve) => manager.onEvent((e) => void (e.type === 'stopped' && e.containerId === id && resolve())));
}

describe('cri/runtime status answers: encoded once per state, never stale', () => {
  let dir: string;
  let fakes: ManagerFakes;
  let containers: ContainerManager;
  let pods: PodManager;

  tempDirEach('berth-status-answers-', async (d) => {
    dir = d;
    fakes = managerFakes(dir);
    containers = await ContainerManager.open(fakeManagerOptions(dir, fakes));
    pods = await PodManager.create(fakePodManagerOptions(path.join(dir, 'pods-root')));
  });
  afterEach(() => {
    containers.close();
    pods.close();
  });

  it('ContainerStatus: repeat calls get one answer carrying its exact encoding; the exit is in the very next answer', async () => {
    const h = containerHandlers({ containers });
    const id = await containers.createContainer('pod1', shContainerConfig());
    await containers.startContainer(id);
    const first = await h.ContainerStatus!({ containerId: id }, call);
    expect(await h.ContainerStatus!({ containerId: id }, call)).to.equal(first);
    expect(Object.isFrozen(first)).to.equal(true);
    const bytes = encodingOf(first)!;
    expect(Buffer.from(bytes).equals(Buffer.from(v1.ContainerStatusResponse.encode(first).finish()))).to.equal(true);
    expect(wireOf('ContainerStatus', first)).to.equal(bytes);
    expect(v1.ContainerStatusResponse.decode(bytes).status!.state).to.equal(v1.ContainerState.CONTAINER_RUNNING);

    const exited = exitOf(containers, id);
    writeFileSync(path.join(dir, 'run', 'exits', id), '7');
    await exited;
    const after = await h.ContainerStatus!({ containerId: id }, call);
    const decoded = v1.ContainerStatusResponse.decode(wireOf('ContainerStatus', after)).status!;
    expect(decoded).to.include({ state: v1.ContainerState.CONTAINER_EXITED, exitCode: 7, reason: 'Error' });
    expect(first.status!.state, 'an answer already given is not changed').to.equal(v1.ContainerState.CONTAINER_RUNNING);
  });

  it('ContainerStatus: verbose answers and views that are not shared are built per call, without a stored encoding', async () => {
    const id = await containers.createContainer('pod1', shContainerConfig());
    const verbose = await containerHandlers({ containers }).ContainerStatus!({ containerId: id, verbose: true }, call);
    expect(verbose.info!.info).to.be.a('string');
    expect(encodingOf(verbose)).to.equal(undefined);
    const view = runningContainerView('c1', 'p1');
    const fake = { containerStatus: async () => ({ status: view, info: {} }), onEvent: () => () => undefined } as unknown as Parameters<typeof containerHandlers>[0]['containers'];
    const h = containerHandlers({ containers: fake });
    const a = await h.ContainerStatus!({ containerId: 'c1' }, call);
    view.state = 'exited';
    const b = await h.ContainerStatus!({ containerId: 'c1' }, call);
    expect([a.status!.state, b.status!.state]).to.deep.equal([v1.ContainerState.CONTAINER_RUNNING, v1.ContainerState.CONTAINER_EXITED]);
    expect(encodingOf(b)).to.equal(undefined);
  });

  it('PodSandboxStatus: the spliced encoding equals the generated one; pod state and container changes show in the next answer', async () => {
    let now = 1.7e18;
    const h = podSandboxHandlers({ pods, containerStatuses: (id) => containers.listContainers({ podSandboxId: id }), nowNs: () => now });
    const podId = (await h.RunPodSandbox!({ config: { metadata: { name: 'web', namespace: 'ns', uid: 'u', attempt: 0 } } }, call)).podSandboxId!;
    const check = (res: runtime.v1.IPodSandboxStatusResponse): runtime.v1.PodSandboxStatusResponse => {
      const bytes = wireOf('PodSandboxStatus', res);
      expect(Buffer.from(bytes).equals(Buffer.from(v1.PodSandboxStatusResponse.encode(res).finish())), 'spliced bytes = generated bytes').to.equal(true);
      return v1.PodSandboxStatusResponse.decode(bytes);
    };
    const first = check(await h.PodSandboxStatus!({ podSandboxId: podId }, call));
    expect(first.status!.state).to.equal(v1.PodSandboxState.SANDBOX_READY);
    expect(first.containersStatuses).to.have.length(0);
    expect(first.timestamp).to.equal(1.7e18);

    fakes.sandboxes.add({ id: podId }, path.join(dir, 'logs'));
    const c1 = await containers.createContainer(podId, shContainerConfig());
    const c2 = await containers.createContainer(podId, shContainerConfig({ name: 'second' }));
    await containers.startContainer(c1);
    now = 0; // an unset timestamp is left out, as the generated encoder does
    const two = check(await h.PodSandboxStatus!({ podSandboxId: podId }, call));
    expect(two.containersStatuses.map((c) => [c.id, c.state])).to.deep.equal([
      [c1, v1.ContainerState.CONTAINER_RUNNING],
      [c2, v1.ContainerState.CONTAINER_CREATED],
    ]);
    expect(two.timestamp).to.equal(0);

    now = 1.8e18;
    const exited = exitOf(containers, c1);
    writeFileSync(path.join(dir, 'run', 'exits', c1), '0');
    await exited;
    await pods.stopPodSandbox(podId);
    const stopped = check(await h.PodSandboxStatus!({ podSandboxId: podId }, call));
    expect(stopped.status!.state).to.equal(v1.PodSandboxState.SANDBOX_NOTREADY);
    expect(stopped.containersStatuses.find((c) => c.id === c1)!.state).to.equal(v1.ContainerState.CONTAINER_EXITED);
    expect(stopped.timestamp).to.equal(1.8e18);
  });

  it('after a container or sandbox event the new status is encoded once the reply has left, so the status call that follows encodes nothing', async () => {
    const hub = new ContainerEventHub();
    const evented: PodSandboxService = {
      runPodSandbox: (config, handler) => pods.runPodSandbox(config, handler),
      stopPodSandbox: (id) => pods.stopPodSandbox(id),
      removePodSandbox: (id) => pods.removePodSandbox(id),
      podSandboxStatus: (id) => pods.podSandboxStatus(id),
      listPodSandboxes: (filter) => pods.listPodSandboxes(filter),
      updatePodSandboxResources: (id, resources) => pods.updatePodSandboxResources(id, resources),
      onEvent: (listener) => hub.subscribe(listener),
    };
    const ch = containerHandlers({ containers });
    const ph = podSandboxHandlers({ pods: evented, containerStatuses: (id) => containers.listContainers({ podSandboxId: id }) });
    const id = await containers.createContainer('pod1', shContainerConfig());
    await nextTurn(); // the created state's answer
    await countEncodes(v1.ContainerStatus, async (encodes) => {
      await containers.startContainer(id);
      await nextTurn();
      expect(encodes()).to.equal(1);
      const res = await ch.ContainerStatus!({ containerId: id }, call);
      expect(encodes()).to.equal(1);
      expect(v1.ContainerStatusResponse.decode(encodingOf(res)!).status!.state).to.equal(v1.ContainerState.CONTAINER_RUNNING);
    });
    const podId = (await ph.RunPodSandbox!({ config: { metadata: { name: 'web', namespace: 'ns', uid: 'u', attempt: 0 } } }, call)).podSandboxId!;
    await countEncodes(v1.PodSandboxStatus, async (encodes) => {
      await pods.stopPodSandbox(podId);
      hub.emit({ type: 'stopped', containerId: podId, podSandboxId: podId, createdAtNs: 1 });
      expect(encodes(), 'not inside the emit: the reply of the changing call goes first').to.equal(0);
      await nextTurn();
      expect(encodes()).to.equal(1);
      const res = await ph.PodSandboxStatus!({ podSandboxId: podId }, call);
      expect(encodes()).to.equal(1);
      expect(v1.PodSandboxStatusResponse.decode(encodingOf(res)!).status!.state).to.equal(v1.PodSandboxState.SANDBOX_NOTREADY);
    });
    hub.emit({ type: 'stopped', containerId: 'gone', podSandboxId: 'gone', createdAtNs: 1 }); // unknown ids are skipped quietly
    await nextTurn();
  });

  it('encodeResponse writes what the generated encoder writes for 0..3 containers (small and large) and any timestamp', () => {
    const status: runtime.v1.IPodSandboxStatus = { id: 'p', metadata: { name: 'n', uid: 'u', namespace: 'ns', attempt: 2 }, state: 1, createdAt: 1.6e18, network: { ip: '10.0.0.2', additionalIps: [{ ip: 'fd00::2' }] } };
    const podBytes = v1.PodSandboxStatus.encode(status).finish();
    for (const n of [0, 1, 3]) {
      for (const timestamp of [0, 1, 127, 128, 2 ** 32, 1.7e18, Date.now() * 1e6, -1, -1.7e18]) {
        const cs = Array.from({ length: n }, (_, i) => encodedStatusOf(Object.freeze(runningContainerView(`c${i}`, 'p', { labels: { k: 'v'.repeat(i * 9000) } }))));
        const expected = v1.PodSandboxStatusResponse.encode({ status, containersStatuses: cs.map((c) => c.wire), timestamp }).finish();
        expect(Buffer.from(encodeResponse(podBytes, cs, timestamp)).equals(Buffer.from(expected)), `${n} containers, timestamp ${timestamp}`).to.equal(true);
      }
    }
  });

  it('an assembled answer that does not fill its buffer exactly is refused (no stale memory on the wire)', () => {
    expect(() => filled(Buffer.allocUnsafe(3), 2)).to.throw(/wrote 2 of 3 bytes/);
    const full = Buffer.from([1, 2, 3]);
    expect(filled(full, 3)).to.equal(full);
  });
});
