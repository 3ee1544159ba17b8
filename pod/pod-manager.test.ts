import { expect } from 'chai';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname as osHostname, tmpdir } from 'node:os';
import * as path from 'node:path';
import { InvalidArgumentError, NotFoundError } from '../common/errors';
import { silentLogger } from '../common/logger';
import { PodManager } from './pod-manager';
import { SandboxStore, type SandboxRecord } from './sandbox-store';
import { FakeNativeBinding } from '../native/testing/fake-native';
import { FakePodNetwork } from './testing/fake-pod-network';
import { FakeProcesses } from './testing/fake-processes';
import { NamespaceMode, PodSandboxConfigInput, PodStartStep } from './types';

interface Harness {
  dir: string;
  root: string;
  runRoot: string;
  cgroupRoot: string;
  native: FakeNativeBinding;
  network: FakePodNetwork;
  processes: FakeProcesses;
  steps: Array<[PodStartStep, number]>;
  hook: string[];
  manager: PodManager;
}

async function harness(): Promise<Harness> {
  const dir = mkdtempSync(path.join(tmpdir(), 'berth-podmgr-'));
  const root = path.join(dir, 'root');
  const runRoot = path.join(dir, 'run');
  const cgroupRoot = path.join(dir, 'cgroup');
  for (const h of ['cpu', 'unified']) mkdirSync(path.join(cgroupRoot, h), { recursive: true });
  writeFileSync(path.join(dir, 'resolv.conf'), 'nameserver 192.0.2.53\n');
  writeFileSync(path.join(dir, 'hosts'), '127.0.0.1 localhost\n192.0.2.1 node-1\n');
  const native = new FakeNativeBinding();
  const network = new FakePodNetwork();
  const processes = new FakeProcesses(native);
  const steps: Array<[PodStartStep, number]> = [];
  const hook: string[] = [];
  const manager = await PodManager.create({
    root,
    runRoot,
    native,
    network,
    processes,
    pauseExecutable: '/usr/libexec/berth/pause',
    runtimeHandlers: ['runc', 'crun'],
    logger: silentLogger,
    observer: { observeStep: (step, seconds) => steps.push([step, seconds]) },
    containers: { stopAll: async (id) => void hook.push(`stop ${id}`), removeAll: async (id) => void hook.push(`remove ${id}`) },
    cgroupHierarchies: [
      { mountPoint: path.join(cgroupRoot, 'cpu'), version: 1, controllers: ['cpu'] },
      { mountPoint: path.join(cgroupRoot, 'unified'), version: 2, controllers: [] },
    ],
    hostResolvConf: path.join(dir, 'resolv.conf'),
    hostHosts: path.join(dir, 'hosts'),
    killTimeoutMs: 1000,
  });
  return { dir, root, runRoot, cgroupRoot, native, network, processes, steps, hook, manager };
}

let logRoot = '';
function podConfig(name = 'web', attempt = 0, extra: Partial<PodSandboxConfigInput> = {}): PodSandboxConfigInput {
  return {
    metadata: { name, namespace: 'default', uid: `uid-${name}`, attempt },
    hostname: name,
    logDirectory: path.join(logRoot, `default_${name}`),
    labels: { app: name, tier: 'front' },
    annotations: { 'kubernetes.io/ingress-bandwidth': '10M' },
    portMappings: [{ containerPort: 80, hostPort: 8080, protocol: 0 }],
    dnsConfig: { servers: ['10.96.0.10'], searches: ['default.svc.cluster.local'], options: ['ndots:5'] },
    linux: { cgroupParent: '/kubepods/pod1', sysctls: { 'net.ipv4.ip_unprivileged_port_start': '0' } },
    ...extra,
  };
}

/** Everything a pod can leave behind, as counts. */
function leftovers(h: Harness) {
  const listOrEmpty = (d: string) => (existsSync(d) ? readdirSync(d) : []);
  const pins = ['net', 'ipc', 'uts', 'pid'].flatMap((k) => listOrEmpty(path.join(h.runRoot, 'ns', k)));
  const cgroupLeaves = ['cpu', 'unified'].flatMap((c) => listOrEmpty(path.join(h.cgroupRoot, c, 'kubepods/pod1')));
  return {
    mounts: h.native.activeMounts().length,
    pauses: h.native.liveProcesses().length,
    attached: h.network.attached.size,
    stateDirs: listOrEmpty(path.join(h.root, 'pods')).length,
    volatileDirs: listOrEmpty(path.join(h.runRoot, 'pods')).length,
    pins: pins.length,
    cgroupLeaves: cgroupLeaves.length,
    logDirs: existsSync(path.join(h.dir, 'log')) ? 1 : 0,
  };
}
const NOTHING = { mounts: 0, pauses: 0, attached: 0, stateDirs: 0, volatileDirs: 0, pins: 0, cgroupLeaves: 0, logDirs: 0 };

describe('pod/pod-manager', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
    logRoot = path.join(h.dir, 'log/pods');
  });
  afterEach(() => {
    h.manager.close();
    rmSync(h.dir, { recursive: true, force: true });
  });

  it('runs a pod: files, shm, cgroup, netns, pause, pins, CNI, state', async () => {
    const id = await h.manager.runPodSandbox(podConfig(), '');
    expect(id).to.match(/^[0-9a-f]{64}$/);
    const info = h.manager.getSandbox(id)!;
    expect(info.state).to.equal('ready');
    expect(existsSync(info.logDirectory)).to.equal(true);
    expect(readFileSync(info.hostnamePath, 'utf8')).to.equal('web\n');
    expect(readFileSync(info.resolvConfPath, 'utf8')).to.equal('search default.svc.cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n');
    expect(readFileSync(info.hostsPath, 'utf8')).to.match(/\n10\.99\.0\.2\tweb\n$/);

    const shm = h.native.mountAt(info.shmPath!)!;
    expect(shm).to.deep.include({ fstype: 'tmpfs', data: 'mode=1777,size=67108864' });
    expect(shm.flags).to.have.members(['nosuid', 'nodev', 'noexec']);

    const spec = h.native.startedPauses()[0];
    // The netns exists before pause (lo up, pinned); pause joins it and creates the others.
    expect(spec.namespaces).to.have.members(['uts', 'ipc', 'pid']);
    expect(spec).to.deep.include({ hostname: 'web', uid: 65535, gid: 65535, executable: '/usr/libexec/berth/pause', netns: path.join(h.runRoot, 'ns/net', id) });
    expect(spec.sysctls).to.deep.equal({ 'net.ipv4.ip_unprivileged_port_start': '0' });
    expect(spec.cgroupProcs).to.deep.equal([
      path.join(h.cgroupRoot, 'cpu/kubepods/pod1', `berth-pod-${id.slice(0, 12)}`, 'cgroup.procs'),
      path.join(h.cgroupRoot, 'unified/kubepods/pod1', `berth-pod-${id.slice(0, 12)}`, 'cgroup.procs'),
    ]);
    // The v2 pod cgroup gets a deny-all device filter (pause needs no device).
    expect(spec.denyDevicesCgroups).to.deep.equal([path.join(h.cgroupRoot, 'unified/kubepods/pod1', `berth-pod-${id.slice(0, 12)}`)]);

    const pid = h.manager.podSandboxStatus(id).verbose.pausePid!;
    // No namespace options: every namespace is the pod's own (POD), pid included.
    for (const kind of ['uts', 'ipc', 'pid'] as const) {
      const pin = path.join(h.runRoot, 'ns', kind, id);
      expect(info.namespacePaths[kind]).to.equal(pin);
      expect(h.native.mountAt(pin)).to.deep.include({ source: `/proc/${pid}/ns/${kind}`, flags: ['bind'] });
    }
    expect(info.namespacePaths.net).to.equal(path.join(h.runRoot, 'ns/net', id));
    expect(h.native.mountAt(info.namespacePaths.net!)).to.deep.include({ fstype: 'nsfs' });

    const setUp = h.network.setUps[0];
    expect(setUp).to.deep.include({ id, name: 'web', namespace: 'default', uid: 'uid-web', netnsPath: info.namespacePaths.net, loopbackUp: true });
    expect(setUp.portMappings).to.deep.equal([{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }]);
    expect(setUp.bandwidth).to.deep.equal({ ingressBps: 10_000_000 });
    expect(setUp.dns).to.deep.equal({ servers: ['10.96.0.10'], searches: ['default.svc.cluster.local'], options: ['ndots:5'] });

    const state = JSON.parse(readFileSync(path.join(h.root, 'pods', id, 'state.json'), 'utf8'));
    expect(state).to.deep.include({ version: 1, phase: 'ready', reservedName: 'k8s_web_default_uid-web_0' });

    const status = h.manager.podSandboxStatus(id.slice(0, 10));
    expect(status.ips).to.deep.equal(['10.99.0.2']);
    expect(status.verbose.netnsPath).to.equal(info.namespacePaths.net);
    expect(status.verbose.cniResult).to.deep.include({ cniVersion: '1.0.0' });
    expect(Object.keys(status.verbose.stepTimingsMs)).to.have.members(['files', 'shm', 'cgroup', 'netns', 'pause', 'pin', 'cni', 'state']);
    const observed = h.steps.map(([s]) => s);
    expect(observed.slice(0, 4)).to.have.members(['files', 'shm', 'cgroup', 'netns']); // these run concurrently
    // A net.* sysctl: pause writes it before CNI makes eth0, so no overlap here.
    expect(observed.slice(4)).to.deep.equal(['pause', 'pin', 'cni', 'state']);
    expect(h.steps.every(([, seconds]) => seconds >= 0 && seconds < 5)).to.equal(true);
  });

  it('lists a new pod as ready only once its ready record is on disk', async () => {
    const original = SandboxStore.prototype.put;
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    let holding = false;
    SandboxStore.prototype.put = async function (this: SandboxStore, record: SandboxRecord) {
      if (record.phase === 'ready') {
        holding = true;
        await held;
      }
      return original.call(this, record);
    };
    try {
      const run = h.manager.runPodSandbox(podConfig(), 'runc');
      while (!holding) await new Promise((r) => setTimeout(r, 1));
      // Still being created: not listed, and certainly not as ready.
      expect(h.manager.listPodSandboxes().filter((p) => p.state === 'ready')).to.deep.equal([]);
      release();
      const id = await run;
      expect(h.manager.listPodSandboxes().map((p) => [p.id, p.state])).to.deep.equal([[id, 'ready']]);
    } finally {
      SandboxStore.prototype.put = original;
    }
  });

  it('returns the same id for a retry in flight or done, a new one for a new attempt', async () => {
    const [a, b] = await Promise.all([h.manager.runPodSandbox(podConfig(), 'runc'), h.manager.runPodSandbox(podConfig(), '')]);
    expect(a).to.equal(b);
    expect(await h.manager.runPodSandbox(podConfig(), '')).to.equal(a);
    expect(h.native.startedPauses()).to.have.length(1);
    const next = await h.manager.runPodSandbox(podConfig('web', 1), '');
    expect(next).to.not.equal(a);
    expect(h.manager.listPodSandboxes()).to.have.length(2);
  });

  it('runs 20 pods in parallel, each retried at once: 20 ids, one pause each, consistent store', async () => {
    const configs = Array.from({ length: 20 }, (_, i) => podConfig(`p${i}`));
    const ids = await Promise.all(configs.flatMap((c) => [h.manager.runPodSandbox(c, ''), h.manager.runPodSandbox(structuredClone(c), '')]));
    for (let i = 0; i < 20; i++) expect(ids[2 * i]).to.equal(ids[2 * i + 1]);
    expect(new Set(ids).size).to.equal(20);
    expect(h.native.startedPauses()).to.have.length(20);
    expect(h.manager.listPodSandboxes().map((p) => p.id).sort()).to.deep.equal([...new Set(ids)].sort());
    const changed = await h.manager.runPodSandbox(podConfig('p0', 0, { hostname: 'other' }), '').then(() => undefined, (e: unknown) => e);
    expect(changed).to.have.property('kind', 'AlreadyExists');
  });

  it('runs a host-network pod without netns, CNI or uts namespace; ipc NODE means no shm', async () => {
    const id = await h.manager.runPodSandbox(
      podConfig('hostnet', 0, {
        hostname: '',
        dnsConfig: null,
        annotations: {},
        linux: { securityContext: { namespaceOptions: { network: NamespaceMode.NODE, ipc: NamespaceMode.NODE, pid: NamespaceMode.POD } } },
      }),
      '',
    );
    const info = h.manager.getSandbox(id)!;
    expect(h.native.startedPauses()[0].namespaces).to.deep.equal(['pid']);
    expect(h.native.startedPauses()[0].hostname).to.equal(osHostname());
    expect(info.namespacePaths).to.deep.equal({ pid: path.join(h.runRoot, 'ns', 'pid', id) });
    expect(info.shmPath).to.equal(undefined);
    expect(h.network.setUps).to.have.length(0);
    expect(readFileSync(info.hostsPath, 'utf8')).to.contain('192.0.2.1 node-1');
    expect(readFileSync(info.resolvConfPath, 'utf8')).to.equal('nameserver 192.0.2.53\n');
    expect(info.cgroupParent).to.equal('/berth');
    expect(h.manager.podSandboxStatus(id).ips).to.deep.equal([]);
  });

  const hostResolv = (h: Harness) => path.join(h.dir, 'resolv.conf');
  const failures: Array<{ step: string; inject: (h: Harness, c: PodSandboxConfigInput) => void; heal?: (h: Harness) => void }> = [
    {
      step: 'files',
      inject: (h, c) => {
        c.dnsConfig = null; // so the host's resolv.conf is read, and make that unreadable
        rmSync(hostResolv(h));
        mkdirSync(hostResolv(h));
      },
      heal: (h) => {
        rmSync(hostResolv(h), { recursive: true });
        writeFileSync(hostResolv(h), '');
      },
    },
    { step: 'shm', inject: (h) => h.native.fail('mount', 'ENOMEM', 1, ([, , fstype]) => fstype === 'tmpfs') },
    {
      step: 'cgroup',
      inject: (h) => rmSync(path.join(h.cgroupRoot, 'unified'), { recursive: true }),
      heal: (h) => mkdirSync(path.join(h.cgroupRoot, 'unified')),
    },
    { step: 'netns', inject: (h) => h.native.fail('createNetns', 'ENOMEM', 1) },
    { step: 'pause', inject: (h) => h.native.fail('startPause', 'EPERM', 1) },
    {
      // No net.* sysctl: CNI ADD runs (and attaches) while pause fails.
      step: 'pause while CNI ADD runs',
      inject: (h, config) => {
        config.linux!.sysctls = {};
        h.native.fail('startPause', 'EPERM', 1);
      },
    },
    { step: 'pause exiting at once', inject: (h) => (h.native.pauseExitsAtOnce = true), heal: (h) => (h.native.pauseExitsAtOnce = false) },
    { step: 'pin', inject: (h) => h.native.fail('mount', 'EINVAL', 1, ([, target, fstype]) => fstype === 'none' && String(target).includes('/ns/ipc/')) },
    { step: 'cni', inject: (h) => (h.network.failSetUp = new Error('plugin bridge failed')), heal: (h) => (h.network.failSetUp = undefined) },
    {
      step: 'cni after a partial attach',
      inject: (h) => {
        h.network.failSetUp = new Error('plugin portmap failed');
        h.network.attachBeforeFailing = true;
      },
      heal: (h) => (h.network.failSetUp = undefined),
    },
    {
      step: 'cni while pause starts',
      inject: (h, config) => {
        config.linux!.sysctls = {};
        h.network.failSetUp = new Error('plugin bridge failed');
        h.network.attachBeforeFailing = true;
      },
      heal: (h) => (h.network.failSetUp = undefined),
    },
  ];
  for (const { step, inject, heal } of failures) {
    it(`undoes every earlier step when ${step} fails, and frees the name`, async () => {
      const config = podConfig();
      inject(h, config);
      let caught: unknown;
      await h.manager.runPodSandbox(config, '').catch((err) => (caught = err));
      expect(caught, 'run should fail').to.be.instanceOf(Error);
      expect(leftovers(h)).to.deep.equal(NOTHING);
      expect(h.manager.listPodSandboxes()).to.deep.equal([]);
      if (step.startsWith('cni')) expect(h.network.tearDowns).to.have.length(1);
      // The name is free again: a retry builds a fresh pod once the fault is gone.
      heal?.(h);
      const id = await h.manager.runPodSandbox(config, '');
      expect(h.manager.getSandbox(id)?.state).to.equal('ready');
    });
  }

  it('stops idempotently: containers, pause, network, shm; pins stay until remove', async () => {
    const id = await h.manager.runPodSandbox(podConfig(), '');
    const info = h.manager.getSandbox(id)!;
    await h.manager.stopPodSandbox(id);
    expect(h.hook).to.deep.equal([`stop ${id}`]);
    expect(h.native.liveProcesses().length).to.equal(0);
    expect(h.network.attached.size).to.equal(0);
    expect(h.native.isMounted(info.shmPath!)).to.equal(false);
    expect(h.native.isMounted(info.namespacePaths.net!)).to.equal(true);
    expect(h.manager.getSandbox(id)?.state).to.equal('notready');
    const persisted = JSON.parse(readFileSync(path.join(h.root, 'pods', id, 'state.json'), 'utf8'));
    expect(persisted.phase).to.equal('notready');
    await h.manager.stopPodSandbox(id);
    expect(h.network.tearDowns).to.have.length(1);
    expect(h.processes.signals).to.have.length(1);
    await h.manager.stopPodSandbox('f'.repeat(64)); // unknown: success (CRI idempotency)
  });

  it('PodSandboxStatus shares one frozen view until the record changes: a stop is in the next call', async () => {
    const id = await h.manager.runPodSandbox(podConfig(), '');
    const first = h.manager.podSandboxStatus(id);
    expect(h.manager.podSandboxStatus(id.slice(0, 12))).to.equal(first);
    expect(Object.isFrozen(first)).to.equal(true);
    await h.manager.stopPodSandbox(id);
    const after = h.manager.podSandboxStatus(id);
    expect([first.state, after.state]).to.deep.equal(['ready', 'notready']);
    expect(after.ips).to.deep.equal(first.ips);
  });

  it('listPodSandboxes gives the shared frozen views of PodSandboxStatus until a record changes: a stop is in the next list', async () => {
    const id = await h.manager.runPodSandbox(podConfig(), '');
    const [first] = h.manager.listPodSandboxes();
    expect(Object.isFrozen(first)).to.equal(true);
    expect(h.manager.listPodSandboxes()[0]).to.equal(first);
    expect(h.manager.podSandboxStatus(id)).to.equal(first);
    await h.manager.stopPodSandbox(id);
    const [after] = h.manager.listPodSandboxes();
    expect([first.state, after.state]).to.deep.equal(['ready', 'notready']);
    expect(h.manager.listPodSandboxes({ state: 'ready' })).to.deep.equal([]);
  });

  it('removes idempotently, without a prior stop, and frees the name', async () => {
    const id = await h.manager.runPodSandbox(podConfig(), '');
    await h.manager.removePodSandbox(id);
    expect(h.hook).to.deep.equal([`stop ${id}`, `remove ${id}`]);
    expect(leftovers(h)).to.deep.equal({ ...NOTHING, logDirs: 1 }); // the log dir is kubelet's to delete
    expect(h.manager.getSandbox(id)).to.equal(undefined);
    expect(() => h.manager.podSandboxStatus(id)).to.throw(NotFoundError);
    await h.manager.removePodSandbox(id);
    await h.manager.removePodSandbox('0'.repeat(64));
    expect(await h.manager.runPodSandbox(podConfig(), '')).to.not.equal(id);
  });

  it('marks the pod NOTREADY (persisted) when pause dies, and still stops and removes it', async () => {
    const id = await h.manager.runPodSandbox(podConfig(), '');
    const pid = h.manager.podSandboxStatus(id).verbose.pausePid!;
    h.native.exitProcess(pid);
    // The exit callback persists NOTREADY asynchronously (lock + fsync'd write): poll, bounded.
    for (let i = 0; i < 400 && h.manager.getSandbox(id)?.state !== 'notready'; i++) await new Promise((r) => setTimeout(r, 5));
    expect(h.manager.getSandbox(id)?.state).to.equal('notready');
    const status = h.manager.podSandboxStatus(id);
    expect(status.verbose.pauseExitedAt).to.be.a('string');
    expect(JSON.parse(readFileSync(path.join(h.root, 'pods', id, 'state.json'), 'utf8')).phase).to.equal('notready');
    await h.manager.stopPodSandbox(id);
    expect(h.processes.signals).to.have.length(0); // nothing left to kill
    expect(h.network.attached.size).to.equal(0);
    await h.manager.removePodSandbox(id);
    expect(leftovers(h)).to.deep.equal({ ...NOTHING, logDirs: 1 });
  });

  it('lists with id prefix, state and label selector filters', async () => {
    const a = await h.manager.runPodSandbox(podConfig('a'), '');
    const b = await h.manager.runPodSandbox(podConfig('b', 0, { labels: { app: 'b', tier: 'back' } }), 'crun');
    await h.manager.stopPodSandbox(b);
    const ids = (filter?: Parameters<PodManager['listPodSandboxes']>[0]) => h.manager.listPodSandboxes(filter).map((p) => p.id).sort();
    expect(ids()).to.deep.equal([a, b].sort());
    expect(ids({ id: a.slice(0, 8) })).to.deep.equal([a]);
    expect(ids({ id: a })).to.deep.equal([a]);
    expect(ids({ id: 'zz' })).to.deep.equal([]);
    expect(ids({ state: 'ready' })).to.deep.equal([a]);
    expect(ids({ state: 'notready' })).to.deep.equal([b]);
    expect(ids({ labelSelector: { tier: 'back' } })).to.deep.equal([b]);
    expect(ids({ labelSelector: { tier: 'front', app: 'a' } })).to.deep.equal([a]);
    expect(ids({ labelSelector: { tier: 'front', app: 'b' } })).to.deep.equal([]);
    expect(h.manager.getSandbox(b)?.runtimeHandler).to.equal('crun');
  });

  it('refuses invalid configs before doing anything', async () => {
    let caught: unknown;
    await h.manager.runPodSandbox(podConfig('x', 0, { linux: { sysctls: { 'kernel.panic': '1' } } }), '').catch((e) => (caught = e));
    expect(caught).to.be.instanceOf(InvalidArgumentError);
    await h.manager.runPodSandbox(podConfig(), 'kata').catch((e) => (caught = e));
    expect((caught as Error).message).to.match(/^runtime_handler/);
    expect(h.native.calls).to.deep.equal([]);
    expect(leftovers(h)).to.deep.equal(NOTHING);
  });

  describe('CNI ADD and pause', () => {
    /** Holds every startPause until `release` is called. */
    function holdPause(): { release: () => void } {
      let release = (): void => undefined;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const start = h.native.startPause.bind(h.native);
      h.native.startPause = async (spec) => {
        await gate;
        return start(spec);
      };
      return { release };
    }

    it('without net.* sysctls, CNI ADD runs in the new netns while pause is still starting', async () => {
      const held = holdPause();
      const running = h.manager.runPodSandbox(podConfig('web', 0, { linux: { cgroupParent: '/kubepods/pod1', sysctls: { 'kernel.msgmax': '65536' } } }), '');
      const deadline = Date.now() + 2000;
      while (h.network.setUps.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      expect(h.network.setUps, 'ADD began before pause was started').to.have.length(1);
      expect(h.native.startedPauses()).to.have.length(0);
      held.release();
      const id = await running;
      expect(h.network.setUps[0]).to.deep.include({ netnsPath: path.join(h.runRoot, 'ns/net', id), loopbackUp: true });
      expect(h.manager.getSandbox(id)?.state).to.equal('ready');
    });

    it('with a net.* sysctl, CNI ADD waits until pause (which writes it) has started', async () => {
      const held = holdPause();
      const running = h.manager.runPodSandbox(podConfig(), '');
      await new Promise((r) => setTimeout(r, 100));
      expect(h.network.setUps).to.have.length(0);
      held.release();
      await running;
      expect(h.network.setUps).to.have.length(1);
    });

    it('host network pods get no netns of their own', async () => {
      const id = await h.manager.runPodSandbox(
        podConfig('host', 0, { linux: { cgroupParent: '/kubepods/pod1', securityContext: { namespaceOptions: { network: NamespaceMode.NODE } } } }),
        '',
      );
      expect(h.native.callsOf('createNetns')).to.have.length(0);
      expect(h.native.startedPauses()[0]).to.not.have.property('netns');
      expect(h.network.setUps).to.have.length(0);
      expect(h.manager.getSandbox(id)?.namespacePaths.net).to.equal(undefined);
    });
  });
});
