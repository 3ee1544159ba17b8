import { expect } from 'chai';
import { DeadlineExceededError, InvalidArgumentError, NotFoundError } from '../../common/errors';
import type { PodManager } from '../../pod/pod-manager';
import type { ExecBackend } from '../streaming/backends';
import type { ContainerManager } from '../../runtime/container-manager';
import type { ImageLookup, SandboxLookup } from '../../runtime/interfaces';
import type { ImageService } from '../../image/image-service';
import type { PodContainersHook } from '../../pod/dependencies';
import type { ContainerEventListener } from '../../runtime/container-events';
import type { ContainerStatsView } from '../../runtime/container-stats';
import type { PodStatsInput, PodStatsView } from '../../runtime/pod-stats';
import type { PodStatsSource } from './pod-stats-convert';
import type { ContainerFilter, ContainerStatusView } from '../../runtime/container-view';
import type { ContainerConfigInput, LinuxResourcesInput } from '../../runtime/spec/inputs';
import { silentLogger } from '../../common/logger';
import { runtime } from '../api/generated/cri';
import type { CallContext } from '../handlers';
import { containerHandlers, type ContainerService } from './container-handlers';
import { rejection } from '../../common/testing/rejection-fixtures';

// ContainerManager must satisfy the narrow interface the handlers declare, and pod/'s PodManager
// the SandboxLookup runtime/ declares (checked at compile time).
const managerFits = (m: ContainerManager): ContainerService => m;
const podManagerFits = (p: PodManager): SandboxLookup => p;
const imageServiceFits = (i: ImageService): ImageLookup => i;
const hookFits = (m: ContainerManager): PodContainersHook => ({ stopAll: (id) => m.stopAllInPod(id), removeAll: (id) => m.removeAllInPod(id) });
const execBackendFits = (m: ContainerManager): ExecBackend => m;
const podStatsSourceFits = (p: PodManager): PodStatsSource => p;
void podStatsSourceFits;
void execBackendFits;
void managerFits;
void podManagerFits;
void imageServiceFits;
void hookFits;

const call: CallContext = { signal: new AbortController().signal, logger: silentLogger } as CallContext;

const view: ContainerStatusView = {
  id: 'abc123',
  podSandboxId: 'pod1',
  name: 'app',
  attempt: 2,
  state: 'exited',
  createdAtNs: 1e18,
  startedAtNs: 1.1e18,
  finishedAtNs: 1.2e18,
  exitCode: 137,
  image: { requested: 'sha256:img', id: 'sha256:img', ref: 'busybox@sha256:d', name: 'busybox:latest' },
  stopSignal: 'SIGQUIT',
  reason: 'OOMKilled',
  message: '',
  labels: { a: 'b' },
  annotations: { c: 'd' },
  mounts: [{ containerPath: '/d', hostPath: '/h', readonly: true, propagation: 'host-to-container' }],
  logPath: '/var/log/pods/x/app/0.log',
  resources: { memoryLimitInBytes: 1024, cpuShares: 2 },
  user: { uid: 1000, gid: 1000, supplementalGroups: [1000, 10] },
  pid: 0,
};

class FakeContainers implements ContainerService {
  calls: Array<{ method: string; args: unknown[] }> = [];
  execError: Error | undefined;
  async createContainer(podSandboxId: string, config: ContainerConfigInput) {
    this.calls.push({ method: 'create', args: [podSandboxId, config] });
    return 'newid';
  }
  async startContainer(id: string) {
    this.calls.push({ method: 'start', args: [id] });
  }
  async stopContainer(id: string, timeoutSeconds: number) {
    this.calls.push({ method: 'stop', args: [id, timeoutSeconds] });
  }
  async removeContainer(id: string) {
    this.calls.push({ method: 'remove', args: [id] });
  }
  async containerStatus(id: string, verbose: boolean) {
    this.calls.push({ method: 'status', args: [id, verbose] });
    const info: Record<string, string> = verbose ? { info: '{}' } : {};
    return { status: view, info };
  }
  statusView(id: string) {
    this.calls.push({ method: 'status', args: [id, false] });
    return view;
  }
  listContainers(filter?: ContainerFilter) {
    this.calls.push({ method: 'list', args: [filter] });
    return [view];
  }
  async execSync(id: string, cmd: string[], timeoutSeconds: number) {
    this.calls.push({ method: 'exec', args: [id, cmd, timeoutSeconds] });
    if (this.execError) throw this.execError;
    return { stdout: Buffer.from('o'), stderr: Buffer.from('e'), exitCode: 3 };
  }
  async updateContainerResources(id: string, resources: LinuxResourcesInput) {
    this.calls.push({ method: 'update', args: [id, resources] });
  }
  async reopenContainerLog(id: string) {
    this.calls.push({ method: 'reopen', args: [id] });
  }
  async containerStats(id: string): Promise<ContainerStatsView> {
    this.calls.push({ method: 'stats', args: [id] });
    return statsView;
  }
  async listContainerStats(filter?: ContainerFilter): Promise<ContainerStatsView[]> {
    this.calls.push({ method: 'listStats', args: [filter] });
    return [statsView];
  }
  async podStats(pod: PodStatsInput): Promise<PodStatsView> {
    this.calls.push({ method: 'podStats', args: [pod] });
    return {
      pod,
      usage: { ...statsView.usage!, processCount: 3 },
      network: { timestampNs: 5, defaultInterface: { name: 'eth0', rxBytes: 10, rxErrors: 0, txBytes: 20, txErrors: 1 }, interfaces: [{ name: 'eth0', rxBytes: 10, rxErrors: 0, txBytes: 20, txErrors: 1 }] },
      containers: [statsView],
    };
  }
  async listPodStats(pods: PodStatsInput[]): Promise<PodStatsView[]> {
    this.calls.push({ method: 'listPodStats', args: [pods] });
    return Promise.all(pods.map((p) => this.podStats(p)));
  }
  listeners = new Set<ContainerEventListener>();
  onEvent(listener: ContainerEventListener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

const statsView: ContainerStatsView = {
  id: 'abc123',
  podSandboxId: 'pod1',
  name: 'app',
  attempt: 0,
  labels: {},
  annotations: {},
  usage: { timestampNs: 5, cpuUsageNs: 1000, cpuUsageNanoCores: 20, memoryUsageBytes: 300, memoryWorkingSetBytes: 200, memoryRssBytes: 100, pageFaults: 7, majorPageFaults: 1 },
  writableLayer: { timestampNs: 5, usedBytes: 4096, inodesUsed: 3, mountpoint: '/x/upper' },
};

describe('cri/runtime container handlers', () => {
  let fake: FakeContainers;
  let h: ReturnType<typeof containerHandlers>;
  beforeEach(() => {
    fake = new FakeContainers();
    h = containerHandlers({ containers: fake });
  });

  it('registers every container RPC', () => {
    expect(Object.keys(h).sort()).to.deep.equal(['ContainerStats', 'ContainerStatus', 'CreateContainer', 'ExecSync', 'GetContainerEvents', 'ListContainerStats', 'ListContainers', 'RemoveContainer', 'ReopenContainerLog', 'StartContainer', 'StopContainer', 'UpdateContainerResources']);
  });

  it('CreateContainer converts the wire config (enums, int64 wrappers, seccomp, namespaces)', async () => {
    // as it arrives: encoded by a client, decoded by the server
    const request = runtime.v1.CreateContainerRequest.decode(runtime.v1.CreateContainerRequest.encode({
      podSandboxId: 'pod1',
      config: {
        metadata: { name: 'app', attempt: 1 },
        image: { image: 'busybox', userSpecifiedImage: 'busybox:1.36' },
        command: ['sh'],
        args: ['-c', 'true'],
        workingDir: '/w',
        envs: [{ key: 'A', value: '1' }],
        mounts: [{ containerPath: '/d', hostPath: '/h', readonly: true, propagation: runtime.v1.MountPropagation.PROPAGATION_BIDIRECTIONAL }],
        devices: [{ containerPath: '/dev/fuse', hostPath: '/dev/fuse', permissions: 'rw' }],
        labels: { l: 'v' },
        logPath: 'app/0.log',
        tty: true,
        linux: {
          resources: { memoryLimitInBytes: 1048576, cpuShares: 512, oomScoreAdj: -5 },
          securityContext: {
            capabilities: { addCapabilities: ['NET_ADMIN'], dropCapabilities: ['KILL'] },
            namespaceOptions: { pid: runtime.v1.NamespaceMode.TARGET, targetId: 'other' },
            runAsUser: { value: 1000 },
            runAsGroup: { value: 3000 },
            supplementalGroups: [5, 6],
            supplementalGroupsPolicy: runtime.v1.SupplementalGroupsPolicy.Strict,
            readonlyRootfs: true,
            noNewPrivs: true,
            seccomp: { profileType: runtime.v1.SecurityProfile.ProfileType.Localhost, localhostRef: '/p.json' },
          },
        },
      },
    }).finish());
    const res = await h.CreateContainer!(request, call);
    expect(res).to.deep.equal({ containerId: 'newid' });
    const [pod, cfg] = fake.calls[0].args as [string, ContainerConfigInput];
    expect(pod).to.equal('pod1');
    expect(cfg).to.deep.include({ name: 'app', attempt: 1, image: 'busybox', userSpecifiedImage: 'busybox:1.36', command: ['sh'], args: ['-c', 'true'], workingDir: '/w', logPath: 'app/0.log', tty: true });
    expect(cfg.mounts).to.deep.equal([{ containerPath: '/d', hostPath: '/h', readonly: true, propagation: 'bidirectional', recursiveReadOnly: false }]);
    expect(cfg.resources).to.deep.equal({ memoryLimitInBytes: 1048576, cpuShares: 512, oomScoreAdj: -5 });
    expect(cfg.security).to.deep.include({ pidMode: 'TARGET', targetId: 'other', runAsUser: 1000, runAsGroup: 3000, supplementalGroupsPolicy: 'Strict', readonlyRootfs: true, noNewPrivs: true });
    expect(cfg.security.supplementalGroups).to.deep.equal([5, 6]);
    expect(cfg.security.seccomp).to.deep.equal({ type: 'Localhost', localhostRef: '/p.json' });
    expect(cfg.security.capabilities).to.deep.equal({ add: ['NET_ADMIN'], drop: ['KILL'] });
    expect(cfg.security.maskedPaths).to.equal(undefined);
  });

  it('CreateContainer: deprecated seccomp path, no security context, missing fields', async () => {
    await h.CreateContainer!({ podSandboxId: 'p', config: { metadata: { name: 'a' }, image: { image: 'i' }, linux: { securityContext: { seccompProfilePath: 'runtime/default' } } } }, call);
    expect((fake.calls[0].args[1] as ContainerConfigInput).security.seccomp).to.deep.equal({ type: 'RuntimeDefault' });
    await h.CreateContainer!({ podSandboxId: 'p', config: { metadata: { name: 'a' }, image: { image: 'i' } } }, call);
    expect((fake.calls[1].args[1] as ContainerConfigInput).security).to.deep.equal({ pidMode: 'POD' });
    expect(await rejection(h.CreateContainer!({ config: { metadata: { name: 'a' }, image: { image: 'i' } } }, call))).to.be.instanceOf(InvalidArgumentError);
    expect(String(await rejection(h.CreateContainer!({ podSandboxId: 'p', config: { metadata: { name: 'a' } } }, call)))).to.contain('config.image.image');
    expect(String(await rejection(h.CreateContainer!({ podSandboxId: 'p', config: { metadata: { name: 'a' }, image: { image: 'i' }, linux: { securityContext: { runAsGroup: { value: 1 } } } } }, call)))).to.contain('run_as_group');
  });

  it('ContainerStatus maps the view to the wire (state enum, times, mounts, user, resources)', async () => {
    const res = await h.ContainerStatus!({ containerId: 'abc', verbose: true }, call);
    const s = res.status!;
    expect(s.state).to.equal(runtime.v1.ContainerState.CONTAINER_EXITED);
    expect(s).to.deep.include({ id: 'abc123', exitCode: 137, reason: 'OOMKilled', imageRef: 'busybox@sha256:d', imageId: 'sha256:img', logPath: '/var/log/pods/x/app/0.log' });
    expect(s.mounts![0].propagation).to.equal(runtime.v1.MountPropagation.PROPAGATION_HOST_TO_CONTAINER);
    expect(s.user!.linux).to.deep.equal({ uid: 1000, gid: 1000, supplementalGroups: [1000, 10] });
    expect(s.resources!.linux!.memoryLimitInBytes).to.equal(1024);
    // kubelet sent the id as config.image.image; status names the image as the user wrote it
    expect(s.image).to.deep.equal({ image: 'busybox:latest' });
    expect(s.stopSignal).to.equal(runtime.v1.Signal.SIGQUIT);
    expect(res.info).to.deep.equal({ info: '{}' });
    // and it encodes: the message is valid on the wire
    const bytes = runtime.v1.ContainerStatusResponse.encode(res).finish();
    expect(bytes.length).to.be.greaterThan(50);
  });

  it('ListContainers converts the filter', async () => {
    const res = await h.ListContainers!({ filter: { id: 'ab', state: { state: runtime.v1.ContainerState.CONTAINER_RUNNING }, podSandboxId: 'p', labelSelector: { a: 'b' } } }, call);
    expect(fake.calls[0].args[0]).to.deep.equal({ id: 'ab', state: 'running', podSandboxId: 'p', labelSelector: { a: 'b' } });
    expect(res.containers![0]).to.deep.include({ id: 'abc123', podSandboxId: 'pod1', image: { image: 'busybox:latest' }, imageRef: 'busybox@sha256:d', imageId: 'sha256:img' });
    await h.ListContainers!({}, call);
    expect(fake.calls[1].args[0]).to.equal(undefined);
  });

  it('ExecSync passes cmd and timeout, returns output and the exit code; a timeout stays DeadlineExceeded', async () => {
    const res = await h.ExecSync!({ containerId: 'c', cmd: ['ls'], timeout: 5 }, call);
    expect(fake.calls[0].args).to.deep.equal(['c', ['ls'], 5]);
    expect(res).to.deep.equal({ stdout: Buffer.from('o'), stderr: Buffer.from('e'), exitCode: 3 });
    fake.execError = new DeadlineExceededError('command timed out');
    expect(await rejection(h.ExecSync!({ containerId: 'c', cmd: ['ls'], timeout: 1 }, call))).to.be.instanceOf(DeadlineExceededError);
    expect(await rejection(h.ExecSync!({ containerId: 'c', cmd: [] }, call))).to.be.instanceOf(InvalidArgumentError);
  });

  it('Stop/Start/Remove/Reopen/Update pass the id (and timeout/resources); empty ids are refused', async () => {
    await h.StopContainer!({ containerId: 'c', timeout: 10 }, call);
    await h.StartContainer!({ containerId: 'c' }, call);
    await h.RemoveContainer!({ containerId: 'c' }, call);
    await h.ReopenContainerLog!({ containerId: 'c' }, call);
    await h.UpdateContainerResources!({ containerId: 'c', linux: { cpuQuota: 50000, cpuPeriod: 100000 } }, call);
    expect(fake.calls.map((c) => [c.method, ...c.args])).to.deep.equal([
      ['stop', 'c', 10],
      ['start', 'c'],
      ['remove', 'c'],
      ['reopen', 'c'],
      ['update', 'c', { cpuQuota: 50000, cpuPeriod: 100000 }],
    ]);
    for (const m of ['StopContainer', 'StartContainer', 'RemoveContainer', 'ReopenContainerLog', 'ContainerStatus'] as const) {
      expect(await rejection(() => h[m]!({ containerId: '' }, call))).to.be.instanceOf(InvalidArgumentError);
    }
  });

  it('ContainerStats / ListContainerStats map usage to UInt64Value wrappers', async () => {
    const one = await h.ContainerStats!({ containerId: 'abc' }, call);
    expect(one.stats!.cpu).to.deep.equal({ timestamp: 5, usageCoreNanoSeconds: { value: 1000 }, usageNanoCores: { value: 20 } });
    expect(one.stats!.memory!.workingSetBytes).to.deep.equal({ value: 200 });
    expect(one.stats!.writableLayer).to.deep.equal({ timestamp: 5, fsId: { mountpoint: '/x/upper' }, usedBytes: { value: 4096 }, inodesUsed: { value: 3 } });
    const list = await h.ListContainerStats!({ filter: { podSandboxId: 'pod1' } }, call);
    expect(list.stats).to.have.length(1);
    expect(fake.calls.at(-1)!.args[0]).to.deep.include({ id: undefined, podSandboxId: 'pod1' });
    runtime.v1.ListContainerStatsResponse.encode(list).finish();
  });

  it('GetContainerEvents streams events in order with the pod\'s container statuses until the client leaves', async () => {
    const abort = new AbortController();
    const written: runtime.v1.IContainerEventResponse[] = [];
    const streamCall = { signal: abort.signal, logger: silentLogger, write: async (m: runtime.v1.IContainerEventResponse) => void written.push(m) };
    const h2 = containerHandlers({ containers: fake, podStatus: (id) => ({ id }) });
    const before = new Set(fake.listeners); // ContainerStatus keeps one per handler map (it prepares answers after events)
    const done = h2.GetContainerEvents!({}, streamCall);
    await new Promise((r) => setImmediate(r));
    const stream = [...fake.listeners].filter((l) => !before.has(l));
    expect(stream).to.have.length(1);
    for (const l of stream) {
      l({ type: 'started', containerId: 'abc123', podSandboxId: 'pod1', createdAtNs: 9 });
      l({ type: 'deleted', containerId: 'abc123', podSandboxId: 'pod1', createdAtNs: 10 });
    }
    await new Promise((r) => setImmediate(r));
    abort.abort();
    await done;
    expect(fake.listeners).to.deep.equal(before);
    expect(written.map((m) => m.containerEventType)).to.deep.equal([runtime.v1.ContainerEventType.CONTAINER_STARTED_EVENT, runtime.v1.ContainerEventType.CONTAINER_DELETED_EVENT]);
    expect(written[0]).to.deep.include({ containerId: 'abc123', createdAt: 9, podSandboxStatus: { id: 'pod1' } });
    expect(written[0].containersStatuses![0]).to.deep.include({ id: 'abc123', image: { image: 'busybox:latest' }, imageRef: 'busybox@sha256:d', imageId: 'sha256:img' });
  });

  it('PodSandboxStats / ListPodSandboxStats (registered only with a pod source): pod facts in, cgroup + network + containers out', async () => {
    expect(h.PodSandboxStats).to.equal(undefined);
    const status = { id: 'pod1', name: 'web', namespace: 'ns', uid: 'u', attempt: 0, labels: { a: 'b' }, annotations: {}, cgroupParent: '/kubepods/pod1', verbose: { pausePid: 99 } };
    const pods: PodStatsSource = {
      podSandboxStatus: (id) => {
        if (id !== 'pod1') throw new NotFoundError(`pod ${id}`);
        return status;
      },
      listPodSandboxes: () => [{ id: 'pod1' }, { id: 'gone' }],
    };
    const hp = containerHandlers({ containers: fake, pods });
    const one = await hp.PodSandboxStats!({ podSandboxId: 'pod1' }, call);
    expect(fake.calls.at(-1)!.args[0]).to.deep.include({ id: 'pod1', cgroupParent: '/kubepods/pod1', netnsPid: 99 });
    expect(one.stats!.attributes!.metadata).to.deep.equal({ name: 'web', namespace: 'ns', uid: 'u', attempt: 0 });
    expect(one.stats!.linux!.network!.defaultInterface).to.deep.equal({ name: 'eth0', rxBytes: { value: 10 }, rxErrors: { value: 0 }, txBytes: { value: 20 }, txErrors: { value: 1 } });
    expect(one.stats!.linux!.process!.processCount).to.deep.equal({ value: 3 });
    expect(one.stats!.linux!.containers).to.have.length(1);
    runtime.v1.PodSandboxStatsResponse.encode(one).finish();
    const list = await hp.ListPodSandboxStats!({}, call);
    expect(list.stats!.map((s) => s.attributes!.id)).to.deep.equal(['pod1']); // 'gone' vanished meanwhile: skipped
  });
});
