/**
 * Restart and recovery through a real berthd: SIGTERM (clean, marker written) and SIGKILL (crash)
 * with a pod and running containers. After the restart every object is listed with the same id,
 * state, times, IP, image ref, mounts and log path; ExecSync, logs, stop and remove work; a
 * container that exited while berthd was down has its real exit code and finish time; one whose
 * monitor and process were both killed is EXITED 255 `Unknown`; a pod whose pause died is NOTREADY
 * and removable. At the end nothing is left on the host.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CriClient } from '../support/cri-client';
import { podConfig, processAlive, RestartableBerthd, TEST_IMAGE, waitUntil } from './reliability-support';

const CONTAINER_RUNNING = 1;
const CONTAINER_EXITED = 2;
const SANDBOX_READY = 0;
const SANDBOX_NOTREADY = 1;

type Snapshot = Record<string, unknown>;

async function podSnapshot(c: CriClient, id: string): Promise<Snapshot> {
  const s = (await c.podSandboxStatus({ podSandboxId: id })).status!;
  return { id: s.id, state: s.state, createdAt: s.createdAt, ip: s.network?.ip, metadata: { ...s.metadata }, labels: s.labels };
}

async function containerSnapshot(c: CriClient, id: string): Promise<Snapshot> {
  const s = (await c.containerStatus({ containerId: id })).status!;
  return {
    id: s.id,
    state: s.state,
    createdAt: s.createdAt,
    startedAt: s.startedAt,
    imageRef: s.imageRef,
    image: s.image?.image,
    logPath: s.logPath,
    mounts: (s.mounts ?? []).map((m) => ({ containerPath: m.containerPath, hostPath: m.hostPath, readonly: !!m.readonly })),
  };
}

async function containerPid(c: CriClient, id: string): Promise<number> {
  const r = await c.containerStatus({ containerId: id, verbose: true });
  return (JSON.parse(r.info?.info ?? '{}') as { pid?: number }).pid ?? 0;
}

describe('e2e: reliability — berthd restart keeps pods and containers', function () {
  this.timeout(180_000);
  let b: RestartableBerthd;
  let ctl: string;

  before(async () => {
    b = await RestartableBerthd.create('berth-rel-restart');
    ctl = path.join(b.dir, 'ctl');
    fs.mkdirSync(ctl);
    await b.start();
    await b.client().pullImage({ image: { image: TEST_IMAGE } });
  });
  after(async () => {
    await b?.destroy();
  });

  async function runContainer(podId: string, pod: ReturnType<typeof podConfig>, name: string, command: string[]): Promise<string> {
    const c = b.client();
    const { containerId } = await c.createContainer({
      podSandboxId: podId,
      config: {
        metadata: { name, attempt: 0 },
        image: { image: TEST_IMAGE },
        command,
        logPath: `${name}.log`,
        mounts: [{ containerPath: '/ctl', hostPath: ctl, readonly: false }],
      },
      sandboxConfig: pod,
    });
    await c.startContainer({ containerId: containerId! });
    return containerId!;
  }

  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    it(`${signal}: everything survives, is listed unchanged, and works after the restart`, async () => {
      const tag = signal.toLowerCase();
      const c0 = b.client();
      const pod = podConfig(b, `rs-${tag}`);
      const podId = (await c0.runPodSandbox({ config: pod })).podSandboxId!;
      const web = await runContainer(podId, pod, 'web', ['sh', '-c', 'i=0; while true; do echo tick-$i; i=$((i+1)); sleep 0.2; done']);
      const waiter = await runContainer(podId, pod, 'waiter', ['sh', '-c', `while [ ! -f /ctl/go-${tag} ]; do sleep 0.1; done; exit 42`]);
      const doomed = await runContainer(podId, pod, 'doomed', ['sleep', '1000']);
      const deadPod = podConfig(b, `rs-dead-${tag}`);
      const deadPodId = (await c0.runPodSandbox({ config: deadPod })).podSandboxId!;

      const before = { pod: await podSnapshot(c0, podId), web: await containerSnapshot(c0, web), waiter: await containerSnapshot(c0, waiter), doomed: await containerSnapshot(c0, doomed) };
      expect(before.pod.state).to.equal(SANDBOX_READY);
      expect(before.web.state).to.equal(CONTAINER_RUNNING);
      expect(before.pod.ip).to.match(/^10\.\d+\.\d+\.\d+$/);
      const webPid = await containerPid(c0, web);
      const doomedPid = await containerPid(c0, doomed);
      const pausePid = Number(JSON.parse((await c0.podSandboxStatus({ podSandboxId: deadPodId, verbose: true })).info?.info ?? '{}').pid ?? 0);
      expect(webPid).to.be.greaterThan(0);
      expect(pausePid).to.be.greaterThan(0);

      const exit = await b.stop(signal);
      expect(exit.signal === signal || exit.code === 0, JSON.stringify(exit)).to.equal(true);
      expect(fs.existsSync(path.join(b.runRoot, 'berthd.clean'))).to.equal(signal === 'SIGTERM');
      expect(processAlive(webPid), 'web keeps running while berthd is down').to.equal(true);

      // While berthd is down: the waiter exits 42 (conmon writes its exit file), the doomed
      // container loses its conmon and then its process (no exit file), the dead pod's pause dies.
      fs.writeFileSync(path.join(ctl, `go-${tag}`), '');
      const exitFile = path.join(b.runRoot, 'containers', 'exits', waiter);
      await waitUntil(() => fs.existsSync(exitFile) && fs.readFileSync(exitFile, 'utf8').trim() !== '', 10_000, 'the waiter exit file');
      const exitMtimeNs = Number(fs.statSync(exitFile, { bigint: true }).mtimeNs);
      const doomedConmon = Number(fs.readFileSync(path.join(b.root, 'containers', doomed, 'conmon.pid'), 'utf8').trim());
      process.kill(doomedConmon, 'SIGKILL');
      await waitUntil(() => !processAlive(doomedConmon), 5000, 'conmon to die');
      process.kill(doomedPid, 'SIGKILL');
      process.kill(pausePid, 'SIGKILL');
      await waitUntil(() => !processAlive(doomedPid) && !processAlive(pausePid), 5000, 'doomed and pause to die');

      const lines = await b.start();
      const c = b.client();
      expect(lines.some((l) => l.includes(signal === 'SIGTERM' ? 'previous berthd stopped cleanly' : 'thorough recovery')), lines.join('\n')).to.equal(true);

      expect(await podSnapshot(c, podId)).to.deep.equal(before.pod);
      expect(await containerSnapshot(c, web)).to.deep.equal(before.web);
      const waiterNow = (await c.containerStatus({ containerId: waiter })).status!;
      expect(waiterNow).to.deep.include({ state: CONTAINER_EXITED, exitCode: 42, reason: 'Error' });
      expect(Math.abs(Number(waiterNow.finishedAt) - exitMtimeNs)).to.be.lessThan(2_000_000); // the exit file's time, not "now"
      expect(await containerSnapshot(c, waiter)).to.deep.equal({ ...before.waiter, state: CONTAINER_EXITED });
      const doomedNow = (await c.containerStatus({ containerId: doomed })).status!;
      expect(doomedNow).to.deep.include({ state: CONTAINER_EXITED, exitCode: 255, reason: 'Unknown' });
      expect((await c.podSandboxStatus({ podSandboxId: deadPodId })).status?.state).to.equal(SANDBOX_NOTREADY);
      const listed = (await c.listContainers({})).containers!.map((x) => x.id).sort();
      expect(listed).to.deep.equal([web, waiter, doomed].sort());

      // exec, logs, stop and remove work on the recovered objects
      const r = await c.execSync({ containerId: web, cmd: ['sh', '-c', 'echo alive; exit 5'], timeout: 10 });
      expect(Buffer.from(r.stdout ?? []).toString()).to.equal('alive\n');
      expect(r.exitCode).to.equal(5);
      const logFile = path.join(pod.logDirectory, 'web.log');
      const size = fs.statSync(logFile).size;
      await waitUntil(() => fs.statSync(logFile).size > size, 5000, 'the web log to keep growing');
      expect(fs.readFileSync(logFile, 'utf8')).to.match(/ stdout F tick-\d+\n$/);
      await c.stopContainer({ containerId: web, timeout: 2 });
      expect((await c.containerStatus({ containerId: web })).status?.state).to.equal(CONTAINER_EXITED);
      await c.stopPodSandbox({ podSandboxId: deadPodId });
      await c.removePodSandbox({ podSandboxId: deadPodId });
      await c.stopPodSandbox({ podSandboxId: podId });
      await c.removePodSandbox({ podSandboxId: podId });
      expect((await c.listPodSandbox({})).items).to.deep.equal([]);
      expect((await c.listContainers({})).containers).to.deep.equal([]);
      const leaks = b.leaks();
      expect(leaks).to.deep.equal({ mounts: [], nsPins: [], ipLeases: [], podStateDirs: [], podVolatileDirs: [], containerDirs: [], exitFiles: [], cniCache: [], processes: [], pauses: [], holdingFiles: [], runtimeState: [] });
    });
  }

  it('an unreadable state file does not stop berthd: reported with its id, skipped, recovered once repaired', async () => {
    const c0 = b.client();
    const podA = podConfig(b, 'unreadable-a');
    const podB = podConfig(b, 'unreadable-b');
    const a = (await c0.runPodSandbox({ config: podA })).podSandboxId!;
    const bId = (await c0.runPodSandbox({ config: podB })).podSandboxId!;
    const a1 = await runContainer(a, podA, 'a1', ['sleep', '600']);
    const b1 = await runContainer(bId, podB, 'b1', ['sleep', '600']);
    await b.stop('SIGKILL');

    const podFile = path.join(b.root, 'pods', a, 'state.json');
    const containerFile = path.join(b.root, 'containers', b1, 'state.json');
    const saved = { pod: fs.readFileSync(podFile), container: fs.readFileSync(containerFile) };
    fs.writeFileSync(podFile, saved.pod.subarray(0, 40)); // a torn write
    fs.writeFileSync(containerFile, '{"version": 99}'); // a record from a future berth

    const lines = await b.start();
    const reported = lines.filter((l) => l.includes('unreadable state file skipped')).map((l) => JSON.parse(l) as { id: string; step: string; level: string });
    expect(reported.map((r) => `${r.step}:${r.id}`).sort()).to.deep.equal([`containers:${b1}`, `pods:${a}`].sort());
    expect(reported.every((r) => r.level === 'error')).to.equal(true);
    const c = b.client();
    expect((await c.listPodSandbox({})).items!.map((p) => p.id)).to.deep.equal([bId]);
    expect((await c.listContainers({})).containers!.map((x) => x.id)).to.deep.equal([a1]);
    expect(fs.existsSync(podFile) && fs.existsSync(containerFile), 'left on disk for a human').to.equal(true);

    await b.stop('SIGTERM');
    fs.writeFileSync(podFile, saved.pod);
    fs.writeFileSync(containerFile, saved.container);
    await b.start();
    const c2 = b.client();
    expect((await c2.listPodSandbox({})).items!.map((p) => p.id).sort()).to.deep.equal([a, bId].sort());
    expect((await c2.listContainers({})).containers!.map((x) => `${x.id}:${x.state}`).sort()).to.deep.equal([`${a1}:${CONTAINER_RUNNING}`, `${b1}:${CONTAINER_RUNNING}`].sort());
    for (const id of [a, bId]) {
      await c2.stopPodSandbox({ podSandboxId: id });
      await c2.removePodSandbox({ podSandboxId: id });
    }
    expect(b.leaks()).to.deep.equal({ mounts: [], nsPins: [], ipLeases: [], podStateDirs: [], podVolatileDirs: [], containerDirs: [], exitFiles: [], cniCache: [], processes: [], pauses: [], holdingFiles: [], runtimeState: [] });
  });
});
