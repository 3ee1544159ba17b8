/**
 * Chaos: a loop creates and removes pods and containers through berthd while berthd is SIGKILLed
 * at random moments and started again on the same state. At the end, with everything removed
 * through CRI, nothing may be left: no mount under berth's dirs, no namespace pin, no IP lease in
 * host-local's dir, no pause/conmon of this instance, no orphan directory, no runc state; and
 * before the removal, what List* reports matches what runs.
 *
 * Bounded: BERTH_CHAOS_SECONDS (default 20; CI may set 60). Prints how many kills it survived.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { podConfig, processAlive, RestartableBerthd, TEST_IMAGE } from './reliability-support';

const CHAOS_SECONDS = Number(process.env.BERTH_CHAOS_SECONDS ?? 20);
const SANDBOX_READY = 0;
const CONTAINER_RUNNING = 1;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('e2e: chaos — berthd SIGKILLed at random while pods and containers churn', function () {
  this.timeout((CHAOS_SECONDS + 180) * 1000);
  let b: RestartableBerthd;

  before(async () => {
    b = await RestartableBerthd.create('berth-chaos');
    await b.start();
    await b.client().pullImage({ image: { image: TEST_IMAGE } });
  });
  after(async () => {
    await b?.destroy();
  });

  it(`survives random SIGKILLs for ${CHAOS_SECONDS} s and leaks nothing`, async () => {
    const deadline = Date.now() + CHAOS_SECONDS * 1000;
    let kills = 0;
    const restartMs: number[] = [];
    let up = true;
    const stats = { podsRun: 0, containersStarted: 0, podsRemoved: 0, failedCalls: 0 };
    const seenPods = new Set<string>();

    /** One worker: run a pod, a container in it, remove the pod; errors while berthd is down are expected. */
    const worker = async (n: number) => {
      for (let i = 0; Date.now() < deadline; i++) {
        if (!up) {
          await sleep(20);
          continue;
        }
        try {
          const c = b.client();
          const pod = podConfig(b, `chaos-${n}-${i}`);
          const podId = (await c.runPodSandbox({ config: pod }, { timeoutMs: 20_000 })).podSandboxId!;
          seenPods.add(podId);
          stats.podsRun++;
          const { containerId } = await c.createContainer(
            { podSandboxId: podId, config: { metadata: { name: 'app', attempt: 0 }, image: { image: TEST_IMAGE }, command: ['sleep', '600'], logPath: 'app.log' }, sandboxConfig: pod },
            { timeoutMs: 20_000 },
          );
          await c.startContainer({ containerId: containerId! }, { timeoutMs: 20_000 });
          stats.containersStarted++;
          if (i % 3 !== 2) {
            // leave every third pod for the end, so restarts have running objects to recover
            await c.stopPodSandbox({ podSandboxId: podId }, { timeoutMs: 20_000 });
            await c.removePodSandbox({ podSandboxId: podId }, { timeoutMs: 20_000 });
            stats.podsRemoved++;
          }
        } catch {
          stats.failedCalls++;
          await sleep(20);
        }
      }
    };

    const killer = async () => {
      while (Date.now() < deadline) {
        await sleep(300 + Math.random() * 1500);
        if (Date.now() >= deadline) break;
        up = false;
        await b.stop('SIGKILL');
        kills++;
        const restartStarted = Date.now();
        await b.start();
        restartMs.push(Date.now() - restartStarted);
        up = true;
      }
    };

    await Promise.all([worker(0), worker(1), killer()]);
    if (!b.pid) await b.start();
    const c = b.client();

    // What is listed matches what runs.
    const pods = (await c.listPodSandbox({})).items ?? [];
    const containers = (await c.listContainers({})).containers ?? [];
    const listedPodIds = pods.map((p) => p.id!).sort();
    const list = (d: string) => (fs.existsSync(d) ? fs.readdirSync(d).filter((n) => !n.startsWith('.')).sort() : []);
    expect(list(path.join(b.root, 'pods')), 'pod state dirs = listed pods').to.deep.equal(listedPodIds);
    expect(list(path.join(b.root, 'containers')), 'container dirs = listed containers').to.deep.equal(containers.map((x) => x.id!).sort());
    for (const p of pods) {
      const r = await c.podSandboxStatus({ podSandboxId: p.id!, verbose: true });
      const pid = Number(JSON.parse(r.info?.info ?? '{}').pid ?? 0);
      expect(processAlive(pid), `pod ${p.id} is ${p.state === SANDBOX_READY ? 'READY' : 'NOTREADY'}`).to.equal(p.state === SANDBOX_READY);
    }
    for (const x of containers) {
      const r = await c.containerStatus({ containerId: x.id!, verbose: true });
      const pid = Number(JSON.parse(r.info?.info ?? '{}').pid ?? 0);
      if (x.state !== CONTAINER_RUNNING) continue;
      expect(processAlive(pid), `running container ${x.id} has a live process`).to.equal(true);
      const conmonPid = Number(fs.readFileSync(path.join(b.root, 'containers', x.id!, 'conmon.pid'), 'utf8').trim());
      expect(processAlive(conmonPid), `running container ${x.id} is monitored by a live conmon`).to.equal(true);
    }

    // Remove everything, then nothing of this instance may be left on the host.
    for (const x of containers) await c.removeContainer({ containerId: x.id! });
    for (const p of pods) {
      await c.stopPodSandbox({ podSandboxId: p.id! });
      await c.removePodSandbox({ podSandboxId: p.id! });
    }
    expect((await c.listPodSandbox({})).items).to.deep.equal([]);
    expect((await c.listContainers({})).containers).to.deep.equal([]);
    const leaks = b.leaks();
    const cgroupLeft = [...seenPods].filter((id) => fs.existsSync(`/sys/fs/cgroup/memory/berth/berth-pod-${id.slice(0, 12)}`));
    console.log(
      `      chaos: survived ${kills} SIGKILLs of berthd in ${CHAOS_SECONDS} s; ${stats.podsRun} pods run, ${stats.containersStarted} containers started, ` +
        `${stats.podsRemoved} pods removed in the loop, ${pods.length} pods / ${containers.length} containers left for the end, ${stats.failedCalls} calls failed during kills; ` +
        `restart to ready: median ${restartMs.sort((x, y) => x - y)[Math.floor(restartMs.length / 2)] ?? 0} ms, max ${Math.max(0, ...restartMs)} ms`,
    );
    expect({ ...leaks, cgroups: cgroupLeft }).to.deep.equal({
      mounts: [], nsPins: [], ipLeases: [], podStateDirs: [], podVolatileDirs: [], containerDirs: [], exitFiles: [], cniCache: [], processes: [], pauses: [], holdingFiles: [], runtimeState: [], cgroups: [],
    });
    expect(kills).to.be.greaterThan(0);
  });
});
