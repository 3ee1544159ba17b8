/**
 * Replays, against a real berthd, the CRI calls kubelet 1.3x makes over the life of one pod with
 * an init container, a restartable init (sidecar) container and an app container with an exec
 * liveness probe; hostPath, emptyDir and projected volumes: startup handshake, image pull, sandbox,
 * containers in kubelet's order, relists, a crash and restart (attempt 1), log rotation, stats,
 * an in-place resize, and deletion. Each step checks the fields kubelet reads back.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runtime } from '../../cri/api/generated/cri';
import { isServiceError } from '../support/cri-client';
import { CriStack } from './support/cri-stack';
import { containerAnnotations, containerConfig, containerLabels, createPodCgroup, podCgroupFile, podLabels, podSandboxConfig, preparePod, readCriLog, removePodCgroup, waitFor, type ContainerSpec, type KubeletPod, containerStatusOf, waitContainerState } from './support/kubelet-replay';
import { busyboxImage, type BuiltImage } from './support/test-images';

const { ContainerState, PodSandboxState } = runtime.v1;
const NOT_FOUND = 5;
const FAILED_PRECONDITION = 9;

const MiB = 1024 * 1024;
const num = (v: unknown): number => Number(v ?? 0);

/** True when the IPv4 address is inside the /24 `subnet` ("10.x.y.0/24"). */
function inSubnet24(ip: string, subnet: string): boolean {
  const prefix = subnet.split('/')[0].split('.').slice(0, 3).join('.');
  return ip.startsWith(`${prefix}.`) && ip !== `${prefix}.0` && ip !== `${prefix}.255`;
}

describe('e2e kubelet sequence: one pod through the CRI calls kubelet makes', function () {
  this.timeout(120_000);
  const stack = new CriStack('kseq');
  let built: BuiltImage;
  let imageName: string;
  let imageId = '';
  let pod: KubeletPod;
  let podId = '';
  const ids: Record<string, string> = {};
  const statuses: Record<string, runtime.v1.IContainerStatus> = {};

  const specs: Record<'init' | 'sidecar' | 'app', ContainerSpec> = {
    init: { name: 'init', attempt: 0, script: 'echo init ran; echo done > /work/init-marker', workingDir: '/tmp', env: { ROLE: 'init' }, hash: '1a2b3c4d', cpuQuota: 20000, cpuShares: 51, memoryLimit: 64 * MiB },
    sidecar: {
      name: 'sidecar',
      attempt: 0,
      script: 'trap "exit 0" TERM; while true; do echo sidecar-tick; sleep 1; done',
      workingDir: '/',
      env: { ROLE: 'sidecar' },
      hash: '5e6f7a8b',
      cpuQuota: 20000,
      cpuShares: 51,
      memoryLimit: 64 * MiB,
    },
    app: {
      name: 'app',
      attempt: 0,
      script: 'trap "exit 0" TERM; test -f /work/init-marker || exit 9; touch /tmp/healthy; while [ ! -f /tmp/crash ]; do echo "app-tick $ROLE"; sleep 1; done; echo crashing >&2; echo "boom: crash marker" > /dev/termination-log; exit 2',
      workingDir: '/work',
      env: { ROLE: 'app' },
      hash: '9c0d1e2f',
      cpuQuota: 50000,
      cpuShares: 102,
      memoryLimit: 128 * MiB,
    },
  };

  const status = (containerId: string) => containerStatusOf(stack.client, containerId);
  const waitState = (containerId: string, state: number) => waitContainerState(stack.client, containerId, state);
  const exec = async (containerId: string, cmd: string[], timeout = 5) => {
    const r = await stack.client.execSync({ containerId, cmd, timeout });
    return { stdout: Buffer.from(r.stdout ?? []).toString(), stderr: Buffer.from(r.stderr ?? []).toString(), exitCode: r.exitCode ?? 0 };
  };
  const grpcCode = (p: Promise<unknown>) =>
    p.then(
      () => 'OK' as const,
      (e: unknown) => (isServiceError(e) ? { code: e.code, details: e.details } : { code: -1, details: String(e) }),
    );

  /** kubelet's EnsureImageExists (ImageStatus by name, present) then CreateContainer + StartContainer. */
  async function createAndStart(spec: ContainerSpec): Promise<string> {
    const present = await stack.client.imageStatus({ image: { image: imageName, userSpecifiedImage: imageName } });
    expect(present.image?.id).to.equal(imageId);
    const config = containerConfig(pod, spec, imageId, imageName);
    const { containerId } = await stack.client.createContainer({ podSandboxId: podId, config, sandboxConfig: podSandboxConfig(pod) });
    const created = await status(containerId!);
    expect(created.state).to.equal(ContainerState.CONTAINER_CREATED);
    expect(num(created.createdAt)).to.be.greaterThan(0);
    expect(num(created.startedAt)).to.equal(0);
    await stack.client.startContainer({ containerId });
    return containerId!;
  }

  /** The image and metadata fields kubelet reads from every ContainerStatus (image.image: its own test). */
  function expectIdentity(s: runtime.v1.IContainerStatus, spec: ContainerSpec) {
    expect([s.metadata?.name, num(s.metadata?.attempt)]).to.deep.equal([spec.name, spec.attempt]);
    expect(s.imageRef, 'image_ref is the repo digest').to.equal(`${stack.registry!.host}/e2e/busybox@${built.manifestDigest}`);
    expect(s.imageId, 'image_id is the image id').to.equal(imageId);
    expect(s.labels).to.deep.equal(containerLabels(pod, spec.name));
    expect(s.annotations).to.deep.equal(containerAnnotations(spec));
    expect(s.logPath).to.equal(path.join(pod.logDirectory, spec.name, `${spec.attempt}.log`));
    // kubelet 1.33's resize compares ContainerStatus.resources with the spec.
    const r = s.resources?.linux;
    expect([num(r?.cpuPeriod), num(r?.cpuQuota), num(r?.cpuShares), num(r?.memoryLimitInBytes)], 'ContainerStatus.resources.linux').to.deep.equal([100000, spec.cpuQuota, spec.cpuShares, spec.memoryLimit]);
    if (s.state === ContainerState.CONTAINER_RUNNING) {
      expect([num(s.finishedAt), num(s.exitCode), s.reason ?? '']).to.deep.equal([0, 0, '']);
    }
    // kubelet fills VolumeMountStatus (recursive read-only) from ContainerStatus.mounts.
    const mounts = (s.mounts ?? []).map((m) => [m.containerPath, m.hostPath, m.readonly === true, m.recursiveReadOnly === true]);
    const want = (containerConfig(pod, spec, imageId, imageName).mounts ?? []).map((m) => [m.containerPath, m.hostPath, m.readonly === true, false]);
    expect(mounts).to.deep.equal(want);
  }

  before(async () => {
    built = await busyboxImage();
    const uid = `6f1e0c2a-${process.pid.toString(16).padStart(4, '0')}-4d3b-9a8e-kseq`;
    await stack.start({
      busybox: { tag: '1.36' },
      pull: false,
      prepare: async (work) => {
        pod = preparePod(work, 'web-0', 'shop', uid, `/berth-e2e-kubepods-${process.pid}`);
        await createPodCgroup(pod);
      },
    });
    imageName = stack.image;
  });

  after(async () => {
    await stack.stop();
    if (pod) await removePodCgroup(pod);
  });

  it('startup: Version, Status (both conditions true), RuntimeConfig (cgroupfs)', async () => {
    const v = await stack.client.version({ version: '0.1.0' });
    expect(v.runtimeApiVersion).to.equal('v1');
    expect(v.runtimeName).to.equal('berth');
    const st = await stack.client.status({ verbose: false });
    const cond = Object.fromEntries((st.status?.conditions ?? []).map((c) => [c.type, c.status]));
    expect(cond).to.deep.include({ RuntimeReady: true, NetworkReady: true });
    // kubelet looks a pod without RuntimeClass up under the handler name "" (recursive read-only, user namespaces).
    const handlers = (st.runtimeHandlers ?? []).map((h) => h.name ?? '');
    expect(handlers, 'the default handler is also listed under ""').to.include.members(['', 'runc']);
    const rc = await stack.client.runtimeConfig({});
    expect(rc.linux?.cgroupDriver).to.equal(runtime.v1.CgroupDriver.CGROUPFS);
  });

  it('image: ImageStatus misses, PullImage (with the sandbox config), ImageStatus finds it by name and by id', async () => {
    const before = await stack.client.imageStatus({ image: { image: imageName } });
    expect(before.image ?? null).to.equal(null);
    const pulled = await stack.client.pullImage({ image: { image: imageName, userSpecifiedImage: imageName }, sandboxConfig: podSandboxConfig(pod) });
    imageId = pulled.imageRef ?? '';
    expect(imageId).to.equal(built.configDigest);
    const byName = (await stack.client.imageStatus({ image: { image: imageName } })).image!;
    expect(byName.id).to.equal(imageId);
    expect(byName.repoTags).to.include(imageName);
    expect(byName.repoDigests).to.include(`${stack.registry!.host}/e2e/busybox@${built.manifestDigest}`);
    expect(num(byName.size)).to.be.greaterThan(0);
    expect((await stack.client.imageStatus({ image: { image: imageId } })).image?.id).to.equal(imageId);
  });

  it('RunPodSandbox with kubelet\'s full config; PodSandboxStatus READY with an IP on the bridge subnet and everything round-tripped', async () => {
    podId = (await stack.client.runPodSandbox({ config: podSandboxConfig(pod), runtimeHandler: '' })).podSandboxId ?? '';
    expect(podId).to.match(/^[0-9a-f]{64}$/);
    const s = (await stack.client.podSandboxStatus({ podSandboxId: podId, verbose: false })).status!;
    expect(s.id).to.equal(podId);
    expect(s.state).to.equal(PodSandboxState.SANDBOX_READY);
    // proto3 leaves a zero attempt off the wire: compare the decoded values, defaults included.
    expect([s.metadata?.name, s.metadata?.namespace, s.metadata?.uid, num(s.metadata?.attempt)]).to.deep.equal([pod.name, pod.namespace, pod.uid, 0]);
    expect(inSubnet24(s.network?.ip ?? '', stack.berthd!.network.subnet), `${s.network?.ip} in ${stack.berthd!.network.subnet}`).to.equal(true);
    expect(s.labels).to.deep.equal(podLabels(pod));
    expect(s.annotations).to.deep.equal(podSandboxConfig(pod).annotations);
    expect(s.linux?.namespaces?.options).to.deep.include({ network: runtime.v1.NamespaceMode.POD, pid: runtime.v1.NamespaceMode.CONTAINER, ipc: runtime.v1.NamespaceMode.POD });
    expect(num(s.createdAt)).to.be.within((Date.now() - 60_000) * 1e6, (Date.now() + 1000) * 1e6);
    // pause sits in its own leaf under kubelet's pod cgroup.
    const leaves = fs.readdirSync(path.dirname(podCgroupFile(pod, 'memory', 'x')));
    expect(leaves).to.include(`berth-pod-${podId.slice(0, 12)}`);
  });

  it('init container: created, started, runs to completion (Completed, exit 0) with its CRI log', async () => {
    ids.init = await createAndStart(specs.init);
    const s = await waitState(ids.init, ContainerState.CONTAINER_EXITED);
    statuses.init = s;
    expect(s).to.include({ exitCode: 0, reason: 'Completed' });
    expect(num(s.startedAt)).to.be.at.least(num(s.createdAt));
    expect(num(s.finishedAt)).to.be.at.least(num(s.startedAt));
    expectIdentity(s, specs.init);
    const log = readCriLog(s.logPath!);
    expect(log.map((l) => `${l.stream} ${l.tag} ${l.text}`)).to.deep.equal(['stdout F init ran']);
    // `kubectl logs --since` relies on the line times falling inside the container's life.
    const lineNs = log[0].time.getTime() * 1e6;
    expect(lineNs).to.be.within(num(s.startedAt) - 1e9, num(s.finishedAt) + 1e9);
    expect(fs.readFileSync(path.join(pod.emptyDir, 'init-marker'), 'utf8')).to.equal('done\n');
  });

  it('sidecar (restartable init) starts after the init container finished and keeps running', async () => {
    ids.sidecar = await createAndStart(specs.sidecar);
    const s = await waitState(ids.sidecar, ContainerState.CONTAINER_RUNNING);
    expect(num(s.startedAt)).to.be.greaterThan(num(statuses.init.finishedAt));
    expectIdentity(s, specs.sidecar);
    await waitFor('a sidecar log line', async () => (readCriLog(s.logPath!).some((l) => l.text === 'sidecar-tick') ? true : undefined));
  });

  it('app starts while the sidecar runs; sees its volumes, env, working dir and DNS; the exec liveness probe passes every second', async () => {
    ids.app = await createAndStart(specs.app);
    const s = await waitState(ids.app, ContainerState.CONTAINER_RUNNING);
    statuses.app = s;
    expectIdentity(s, specs.app);
    expect(num(s.startedAt)).to.be.greaterThan(num(statuses.init.finishedAt));
    expect((await status(ids.sidecar)).state, 'sidecar still running when the app starts').to.equal(ContainerState.CONTAINER_RUNNING);

    const probeTimes: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = Date.now();
      const probe = await waitFor('a passing liveness probe', async () => {
        const r = await exec(ids.app, ['cat', '/tmp/healthy'], 1);
        return r.exitCode === 0 ? r : undefined;
      });
      expect(probe.exitCode).to.equal(0);
      probeTimes.push(Date.now() - t0);
      await new Promise((r) => setTimeout(r, 1000));
    }
    expect(Math.max(...probeTimes), `probe latencies ${probeTimes.join(',')} ms`).to.be.below(1000);

    expect((await exec(ids.app, ['cat', '/data/greeting'])).stdout).to.equal('hello-from-hostpath\n');
    expect((await exec(ids.app, ['cat', '/work/init-marker'])).stdout).to.equal('done\n');
    expect((await exec(ids.app, ['cat', '/var/run/secrets/kubernetes.io/serviceaccount/token'])).stdout).to.equal('eyJhbGciOiJSUzI1NiJ9.replay-token\n');
    const write = await exec(ids.app, ['sh', '-c', 'echo x > /var/run/secrets/kubernetes.io/serviceaccount/token']);
    expect(write.exitCode, 'the projected volume is read-only').to.not.equal(0);
    expect(write.stderr).to.match(/Read-only file system/);
    expect((await exec(ids.app, ['cat', '/var/run/secrets/tokens/vault-token'])).stdout).to.equal('eyJhbGciOiJSUzI1NiJ9.replay-token\n');
    const writeFile = await exec(ids.app, ['sh', '-c', 'echo x > /var/run/secrets/tokens/vault-token']);
    expect(writeFile.exitCode, 'the single-file projected mount is read-only').to.not.equal(0);
    expect(writeFile.stderr).to.match(/Read-only file system/);
    expect(fs.readFileSync(path.join(pod.projectedDir, 'token'), 'utf8')).to.equal('eyJhbGciOiJSUzI1NiJ9.replay-token\n');
    expect((await exec(ids.app, ['pwd'])).stdout).to.equal('/work\n');
    const env = (await exec(ids.app, ['env'])).stdout;
    expect(env).to.contain('ROLE=app\n').and.contain('KUBERNETES_SERVICE_HOST=10.96.0.1\n');
    expect((await exec(ids.app, ['hostname'])).stdout).to.equal(`${pod.name}\n`);
    const resolv = (await exec(ids.app, ['cat', '/etc/resolv.conf'])).stdout;
    expect(resolv).to.match(/nameserver 10\.96\.0\.10/).and.match(/search shop\.svc\.cluster\.local svc\.cluster\.local cluster\.local/).and.match(/options ndots:5/);
    expect((await exec(ids.app, ['cat', '/etc/hosts'])).stdout).to.contain('Kubernetes-managed hosts file');
    // pid CONTAINER: the app is pid 1 of its own namespace, the sidecar invisible.
    expect((await exec(ids.app, ['ps', '-o', 'pid,args'])).stdout).to.not.contain('sidecar-tick');
  });

  it('relist: ListPodSandbox and ListContainers (all, by pod, by state, by label) with labels and annotations round-tripped', async () => {
    const sandboxes = (await stack.client.listPodSandbox({})).items ?? [];
    const mine = sandboxes.find((p) => p.id === podId)!;
    expect(mine).to.not.equal(undefined);
    expect(mine.state).to.equal(PodSandboxState.SANDBOX_READY);
    expect(mine.labels).to.deep.equal(podLabels(pod));
    expect(mine.annotations).to.deep.equal(podSandboxConfig(pod).annotations);
    expect(mine.metadata?.uid).to.equal(pod.uid);
    const byLabel = (await stack.client.listPodSandbox({ filter: { labelSelector: { 'io.kubernetes.pod.uid': pod.uid } } })).items ?? [];
    expect(byLabel.map((p) => p.id)).to.deep.equal([podId]);

    const all = (await stack.client.listContainers({})).containers ?? [];
    const byName: Record<string, runtime.v1.IContainer> = Object.fromEntries(all.filter((c) => c.podSandboxId === podId).map((c) => [c.metadata?.name ?? '', c]));
    expect(Object.keys(byName).sort()).to.deep.equal(['app', 'init', 'sidecar']);
    expect(byName.init.state).to.equal(ContainerState.CONTAINER_EXITED);
    expect(byName.sidecar.state).to.equal(ContainerState.CONTAINER_RUNNING);
    expect(byName.app.state).to.equal(ContainerState.CONTAINER_RUNNING);
    for (const [name, c] of Object.entries(byName)) {
      const spec = specs[name as keyof typeof specs];
      expect(c.labels).to.deep.equal(containerLabels(pod, name));
      expect(c.annotations).to.deep.equal(containerAnnotations(spec));
      expect(c.imageRef).to.equal(`${stack.registry!.host}/e2e/busybox@${built.manifestDigest}`);
      expect(num(c.createdAt)).to.be.greaterThan(0);
    }
    const running = (await stack.client.listContainers({ filter: { podSandboxId: podId, state: { state: ContainerState.CONTAINER_RUNNING } } })).containers ?? [];
    expect(running.map((c) => c.metadata?.name).sort()).to.deep.equal(['app', 'sidecar']);
    const byContainerLabel = (await stack.client.listContainers({ filter: { labelSelector: { 'io.kubernetes.container.name': 'sidecar', 'io.kubernetes.pod.uid': pod.uid } } })).containers ?? [];
    expect(byContainerLabel.map((c) => c.id)).to.deep.equal([ids.sidecar]);
  });

  it('ListContainers and ContainerStatus report image.image as the user-specified name, never the id kubelet resolved it to; image_id is the id', async () => {
    // kubelet passed the id in image.image and the name in user_specified_image; both RPCs show the
    // name (cri-o does the same; containerd shows the image's first tag, here the same name).
    const listed = (await stack.client.listContainers({ filter: { podSandboxId: podId } })).containers ?? [];
    expect(listed.map((c) => [c.metadata?.name, c.image?.image]).sort()).to.deep.equal([
      ['app', imageName],
      ['init', imageName],
      ['sidecar', imageName],
    ]);
    expect(listed.map((c) => c.imageId)).to.deep.equal(listed.map(() => imageId));
    // The pod status shows ContainerStatus.image.image (containerd: the image's tag, here the
    // user-specified name; cri-o: the user-specified name), never the id kubelet resolved it to.
    const shown = await Promise.all(Object.values(ids).map(async (id) => [(await status(id)).metadata?.name, (await status(id)).image?.image]));
    expect(shown.sort(), 'kubelet shows ContainerStatus.image.image as the pod status image').to.deep.equal([
      ['app', imageName],
      ['init', imageName],
      ['sidecar', imageName],
    ]);
  });

  it('the app crashes (exit 2 → Error); kubelet restarts it as attempt 1 and keeps the dead one until its GC removes it', async () => {
    const first = ids.app;
    await exec(first, ['touch', '/tmp/crash']);
    const dead = await waitState(first, ContainerState.CONTAINER_EXITED);
    expect(dead).to.include({ exitCode: 2, reason: 'Error' });
    expect(num(dead.finishedAt)).to.be.greaterThan(num(dead.startedAt));
    // kubelet reads the termination message from the host side of /dev/termination-log.
    expect(fs.readFileSync(path.join(pod.podDir, 'containers', 'app', 'c0ffee01'), 'utf8')).to.equal('boom: crash marker\n');
    const firstLog = readCriLog(dead.logPath!);
    expect(firstLog.some((l) => l.stream === 'stderr' && l.text === 'crashing')).to.equal(true);
    expect(firstLog.some((l) => l.stream === 'stdout' && l.text === 'app-tick app')).to.equal(true);
    for (let i = 1; i < firstLog.length; i++) expect(firstLog[i].time.getTime()).to.be.at.least(firstLog[i - 1].time.getTime());

    specs.app = { ...specs.app, attempt: 1 };
    ids.app = await createAndStart(specs.app);
    const s = await waitState(ids.app, ContainerState.CONTAINER_RUNNING);
    expectIdentity(s, specs.app);
    expect(s.metadata?.attempt).to.equal(1);
    expect(num(s.startedAt)).to.be.greaterThan(num(dead.finishedAt));
    expect(fs.existsSync(path.join(pod.logDirectory, 'app', '0.log')), 'the old attempt keeps its log').to.equal(true);

    const apps = ((await stack.client.listContainers({ filter: { podSandboxId: podId, labelSelector: { 'io.kubernetes.container.name': 'app' } } })).containers ?? []).map((c) => [c.metadata?.attempt, c.state]);
    expect(apps.sort()).to.deep.equal([
      [0, ContainerState.CONTAINER_EXITED],
      [1, ContainerState.CONTAINER_RUNNING],
    ]);
    // kubelet's container GC removes the dead attempt later.
    await stack.client.removeContainer({ containerId: first });
    expect(await grpcCode(stack.client.containerStatus({ containerId: first }))).to.deep.include({ code: NOT_FOUND });
  });

  it('ReopenContainerLog after kubelet rotated the log: the old file keeps its lines, the new one gets new lines', async () => {
    const logPath = path.join(pod.logDirectory, 'app', '1.log');
    await waitFor('a line in app/1.log', async () => (fs.existsSync(logPath) && readCriLog(logPath).length > 0 ? true : undefined));
    const rotated = `${logPath}.20261207-090000`;
    fs.renameSync(logPath, rotated);
    await stack.client.reopenContainerLog({ containerId: ids.app });
    expect(fs.existsSync(logPath)).to.equal(true);
    await waitFor('a line in the reopened log', async () => (readCriLog(logPath).some((l) => l.text === 'app-tick app') ? true : undefined), 5000);
    expect(readCriLog(rotated).length).to.be.greaterThan(0);
  });

  it('stats: ContainerStats, ListContainerStats, PodSandboxStats, ListPodSandboxStats with non-zero usage', async () => {
    const cs = (await stack.client.containerStats({ containerId: ids.app })).stats!;
    expect(cs.attributes?.id).to.equal(ids.app);
    expect(cs.attributes?.metadata).to.deep.include({ name: 'app', attempt: 1 });
    expect(cs.attributes?.labels).to.deep.equal(containerLabels(pod, 'app'));
    expect(num(cs.cpu?.usageCoreNanoSeconds?.value)).to.be.greaterThan(0);
    expect(num(cs.memory?.workingSetBytes?.value)).to.be.greaterThan(0);
    expect(num(cs.cpu?.timestamp)).to.be.greaterThan(0);
    expect(cs.writableLayer?.fsId?.mountpoint ?? '').to.not.equal('');
    expect(num(cs.writableLayer?.inodesUsed?.value), 'the app created /tmp/healthy in its writable layer').to.be.greaterThan(0);

    const list = (await stack.client.listContainerStats({ filter: { podSandboxId: podId } })).stats ?? [];
    expect(list.map((x) => x.attributes?.metadata?.name).sort()).to.include.members(['app', 'sidecar']);
    for (const x of list.filter((y) => y.attributes?.id === ids.sidecar)) expect(num(x.memory?.workingSetBytes?.value)).to.be.greaterThan(0);

    const ps = (await stack.client.podSandboxStats({ podSandboxId: podId })).stats!;
    expect(ps.attributes?.id).to.equal(podId);
    expect(ps.attributes?.metadata?.uid).to.equal(pod.uid);
    expect(num(ps.linux?.cpu?.usageCoreNanoSeconds?.value)).to.be.greaterThan(0);
    expect(num(ps.linux?.memory?.workingSetBytes?.value)).to.be.greaterThan(0);
    expect(ps.linux?.network?.defaultInterface?.name).to.equal('eth0');
    expect((ps.linux?.containers ?? []).map((c) => c.attributes?.id)).to.include.members([ids.app, ids.sidecar]);
    const all = (await stack.client.listPodSandboxStats({ filter: { id: podId } })).stats ?? [];
    expect(all.map((x) => x.attributes?.id)).to.deep.equal([podId]);

    // The eviction manager's ImageFsInfo and the image GC's ListImages.
    const fsInfo = await stack.client.imageFsInfo({});
    const imageFs = (fsInfo.imageFilesystems ?? [])[0];
    expect(imageFs?.fsId?.mountpoint ?? '').to.not.equal('');
    expect(num(imageFs?.usedBytes?.value)).to.be.greaterThan(0);
    expect(num(imageFs?.timestamp)).to.be.greaterThan(0);
    const images = (await stack.client.listImages({})).images ?? [];
    const listed = images.find((i) => i.id === imageId);
    expect(listed?.repoTags).to.include(imageName);
    expect(listed?.pinned ?? false).to.equal(false);
  });

  it('in-place resize: UpdatePodSandboxResources writes the pod cgroup (the parent of pause and the containers); UpdateContainerResources still works; a limit below usage is FailedPrecondition', async () => {
    const res = { cpuPeriod: 100000, cpuQuota: 250000, cpuShares: 512, memoryLimitInBytes: 512 * MiB };
    expect(await grpcCode(stack.client.updatePodSandboxResources({ podSandboxId: podId, overhead: {}, resources: res }))).to.equal('OK');
    expect(fs.readFileSync(podCgroupFile(pod, 'cpu', 'cpu.shares'), 'utf8').trim()).to.equal('512');
    expect(fs.readFileSync(podCgroupFile(pod, 'cpu', 'cpu.cfs_quota_us'), 'utf8').trim()).to.equal('250000');
    expect(fs.readFileSync(podCgroupFile(pod, 'cpu', 'cpu.cfs_period_us'), 'utf8').trim()).to.equal('100000');
    expect(fs.readFileSync(podCgroupFile(pod, 'memory', 'memory.limit_in_bytes'), 'utf8').trim()).to.equal(String(512 * MiB));

    await stack.client.updateContainerResources({ containerId: ids.app, linux: { cpuPeriod: 100000, cpuQuota: 80000, cpuShares: 204, memoryLimitInBytes: 200 * MiB, memorySwapLimitInBytes: 200 * MiB } });
    const appCg = path.join(path.dirname(podCgroupFile(pod, 'cpu', 'x')), `berth-${ids.app}`);
    expect(fs.readFileSync(path.join(appCg, 'cpu.cfs_quota_us'), 'utf8').trim()).to.equal('80000');
    const after = await status(ids.app);
    expect(num(after.resources?.linux?.cpuQuota), 'ContainerStatus.resources reports the resize (kubelet reads it)').to.equal(80000);
    expect(num(after.resources?.linux?.memoryLimitInBytes)).to.equal(200 * MiB);

    // 24 MiB of tmpfs pages charged to the app (no swap on this host) cannot be reclaimed.
    const fill = await exec(ids.app, ['dd', 'if=/dev/zero', 'of=/dev/shm/fill', 'bs=1048576', 'count=24'], 10);
    expect(fill.exitCode, fill.stderr).to.equal(0);
    const refused = await grpcCode(stack.client.updatePodSandboxResources({ podSandboxId: podId, resources: { memoryLimitInBytes: 8 * MiB } }));
    expect(refused).to.deep.include({ code: FAILED_PRECONDITION });
    expect(refused !== 'OK' && refused.details).to.match(/memory_limit_in_bytes: 8388608 is below the pod's current memory usage/);
    expect(fs.readFileSync(podCgroupFile(pod, 'memory', 'memory.limit_in_bytes'), 'utf8').trim()).to.equal(String(512 * MiB));
    await exec(ids.app, ['rm', '/dev/shm/fill']);
    // A pod quota below a container's: the v1 kernel refuses the parent (EINVAL); kubelet lowers containers first.
    const conflict = await grpcCode(stack.client.updatePodSandboxResources({ podSandboxId: podId, resources: { cpuPeriod: 100000, cpuQuota: 50000 } }));
    expect(conflict).to.deep.include({ code: FAILED_PRECONDITION });
    expect(conflict !== 'OK' && conflict.details).to.match(/cpu_quota: 50000 conflicts with the CPU quota of a container/);
    expect(fs.readFileSync(podCgroupFile(pod, 'cpu', 'cpu.cfs_quota_us'), 'utf8').trim()).to.equal('250000');
    expect((await status(ids.app)).state).to.equal(ContainerState.CONTAINER_RUNNING);
    expect(await grpcCode(stack.client.updatePodSandboxResources({ podSandboxId: 'f'.repeat(64), resources: res }))).to.deep.include({ code: NOT_FOUND });
  });

  it('deletion: StopContainer (app, then the sidecar) with the grace period, StopPodSandbox, RemoveContainer each, RemovePodSandbox', async () => {
    for (const name of ['app', 'sidecar'] as const) {
      const t0 = Date.now();
      await stack.client.stopContainer({ containerId: ids[name], timeout: 30 });
      expect(Date.now() - t0, `${name} honours SIGTERM well within the grace period`).to.be.below(10_000);
      const s = await status(ids[name]);
      expect(s.state).to.equal(ContainerState.CONTAINER_EXITED);
      expect(s).to.include({ exitCode: 0, reason: 'Completed' });
      expect(num(s.finishedAt)).to.be.greaterThan(num(s.startedAt));
    }
    await stack.client.stopPodSandbox({ podSandboxId: podId });
    const stopped = (await stack.client.podSandboxStatus({ podSandboxId: podId })).status!;
    expect(stopped.state).to.equal(PodSandboxState.SANDBOX_NOTREADY);
    expect(await grpcCode(stack.client.updatePodSandboxResources({ podSandboxId: podId, resources: { cpuShares: 2 } })), 'a stopped pod: OK, nothing to do').to.equal('OK');
    expect(fs.readFileSync(podCgroupFile(pod, 'cpu', 'cpu.shares'), 'utf8').trim()).to.equal('512');

    for (const name of ['init', 'sidecar', 'app'] as const) await stack.client.removeContainer({ containerId: ids[name] });
    expect(((await stack.client.listContainers({ filter: { podSandboxId: podId } })).containers ?? []).length).to.equal(0);
    await stack.client.removePodSandbox({ podSandboxId: podId });
    expect(await grpcCode(stack.client.podSandboxStatus({ podSandboxId: podId }))).to.deep.include({ code: NOT_FOUND });
    expect((await stack.client.listPodSandbox({})).items ?? []).to.deep.equal([]);
    // berth's leaves are gone; kubelet's pod cgroup stays (kubelet removes it).
    for (const controller of ['cpu', 'memory'] as const) {
      const dir = path.dirname(podCgroupFile(pod, controller, 'x'));
      expect(fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name)).to.deep.equal([]);
    }
    podId = '';
  });
});
