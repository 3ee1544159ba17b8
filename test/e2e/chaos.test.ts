/**
 * Chaos: two workers create and remove pods and containers through berthd while berthd is
 * SIGKILLed at random moments and started again on the same state. The test counts what it did
 * and fails when it did too little: pods run, containers started, kills, and kills that landed
 * while an RPC was in flight (sent after the call started, and the call then failed with a
 * connection error). Every RPC error is either such an expected kill error (counted) or fails
 * the test. At the end, with everything removed through CRI, nothing may be left: no mount under
 * berth's dirs, no namespace pin, no IP lease, no pause/conmon of this instance, no cgroup dir
 * below the instance's cgroup parent in any v1 or v2 hierarchy, no orphan directory, no runc
 * state; and before the removal, what List* reports matches what runs.
 *
 * Bounded: BERTH_CHAOS_SECONDS (default 20; CI may set 60). Prints the counts.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isServiceError, type CriClient } from '../support/cri-client';
import { cgroupHierarchyDirs, NO_LEAKS, podConfig, processAlive, RestartableBerthd, TEST_IMAGE } from './reliability-support';

const CHAOS_SECONDS = Number(process.env.BERTH_CHAOS_SECONDS ?? 20);
/** Minimum work per 20 s of chaos (measured on this 2-core host under other load: 11-35 pods, 5-29 containers started, 5-9 kills, all mid-RPC). */
const SCALE = CHAOS_SECONDS / 20;
const MIN = { podsRun: Math.ceil(5 * SCALE), containersStarted: Math.ceil(3 * SCALE), kills: Math.ceil(3 * SCALE), midRpcKills: Math.ceil(2 * SCALE) };
const SANDBOX_READY = 0;
const CONTAINER_RUNNING = 1;
const GRPC_CANCELLED = 1;
const GRPC_UNAVAILABLE = 14;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Thrown instead of calling when berthd is down between a kill and its restart (not an RPC error). */
class BerthdDown extends Error {}

/** An RPC that failed because berthd was SIGKILLed while it was in flight. */
class KilledMidRpc extends Error {}

/** True for the errors a client sees when the server process dies under a call. */
function isConnectionError(err: unknown): boolean {
  return isServiceError(err) && (err.code === GRPC_UNAVAILABLE || err.code === GRPC_CANCELLED);
}

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

  it(`survives random SIGKILLs for ${CHAOS_SECONDS} s, mid-RPC, and leaks nothing`, async () => {
    const deadline = Date.now() + CHAOS_SECONDS * 1000;
    /** Send times of the kills, in order. */
    const kills: number[] = [];
    /** Indexes of kills that landed inside an RPC which then failed with a connection error. */
    const midRpcKills = new Set<number>();
    const restartMs: number[] = [];
    let up = true;
    const stats = { podsRun: 0, containersCreated: 0, containersStarted: 0, podsRemoved: 0, callsFailedByKill: 0, callsSkippedWhileDown: 0 };
    const failedByKill: Record<string, number> = {};
    const unexpected: string[] = [];

    /** One RPC on the current process; classifies every failure (a kill during the call, or unexpected). */
    const rpc = async <T>(name: string, call: (c: CriClient) => Promise<T>): Promise<T> => {
      const killsBefore = kills.length;
      let c: CriClient;
      try {
        c = b.client();
      } catch {
        throw new BerthdDown();
      }
      try {
        return await call(c);
      } catch (err) {
        if (kills.length > killsBefore && isConnectionError(err)) {
          // Every kill sent while this call was in flight landed mid-RPC.
          for (let k = killsBefore; k < kills.length; k++) midRpcKills.add(k);
          stats.callsFailedByKill++;
          failedByKill[name] = (failedByKill[name] ?? 0) + 1;
          throw new KilledMidRpc(`${name}: ${String(err)}`);
        }
        unexpected.push(`${name}: ${String(err)} (kills before ${killsBefore}, now ${kills.length})`);
        throw err;
      }
    };

    const worker = async (n: number) => {
      for (let i = 0; Date.now() < deadline; i++) {
        if (!up) {
          await sleep(20);
          continue;
        }
        try {
          const pod = podConfig(b, `chaos-${n}-${i}`);
          const podId = (await rpc('RunPodSandbox', (c) => c.runPodSandbox({ config: pod }, { timeoutMs: 20_000 }))).podSandboxId!;
          stats.podsRun++;
          const { containerId } = await rpc('CreateContainer', (c) =>
            c.createContainer(
              { podSandboxId: podId, config: { metadata: { name: 'app', attempt: 0 }, image: { image: TEST_IMAGE }, command: ['sleep', '600'], logPath: 'app.log' }, sandboxConfig: pod },
              { timeoutMs: 20_000 },
            ),
          );
          stats.containersCreated++;
          await rpc('StartContainer', (c) => c.startContainer({ containerId: containerId! }, { timeoutMs: 20_000 }));
          stats.containersStarted++;
          if (i % 3 !== 2) {
            // leave every third pod for the end, so restarts have running objects to recover
            await rpc('StopPodSandbox', (c) => c.stopPodSandbox({ podSandboxId: podId }, { timeoutMs: 20_000 }));
            await rpc('RemovePodSandbox', (c) => c.removePodSandbox({ podSandboxId: podId }, { timeoutMs: 20_000 }));
            stats.podsRemoved++;
          }
        } catch (err) {
          if (err instanceof BerthdDown) stats.callsSkippedWhileDown++;
          else if (!(err instanceof KilledMidRpc)) return; // already in `unexpected`: stop this worker, the test fails below
          await sleep(20);
        }
      }
    };

    const killer = async () => {
      while (Date.now() < deadline) {
        await sleep(300 + Math.random() * 1500);
        if (Date.now() >= deadline) break;
        up = false;
        kills.push(Date.now());
        await b.stop('SIGKILL');
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
    const leftBeforeRemoval = b.leaksWithCgroups();
    // The cgroup probe sees this instance's pods in every hierarchy (v1 controllers and v2), else it could not fail.
    expect(pods.length, 'pods left running for the end').to.be.greaterThan(0);
    for (const top of cgroupHierarchyDirs(b.cgroupParent)) {
      expect(leftBeforeRemoval.cgroups.filter((d) => d.startsWith(top + '/')), `pod cgroups under ${top}`).to.not.deep.equal([]);
    }

    // Remove everything, then nothing of this instance may be left on the host.
    for (const x of containers) await c.removeContainer({ containerId: x.id! });
    for (const p of pods) {
      await c.stopPodSandbox({ podSandboxId: p.id! });
      await c.removePodSandbox({ podSandboxId: p.id! });
    }
    expect((await c.listPodSandbox({})).items).to.deep.equal([]);
    expect((await c.listContainers({})).containers).to.deep.equal([]);
    const leaks = b.leaksWithCgroups();
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? 0;
    console.log(
      `      chaos: ${CHAOS_SECONDS} s, ${kills.length} SIGKILLs of berthd (${midRpcKills.size} landed mid-RPC); ` +
        `${stats.podsRun} pods run, ${stats.containersCreated} containers created, ${stats.containersStarted} started, ${stats.podsRemoved} pods removed in the loop; ` +
        `${pods.length} pods / ${containers.length} containers left for the end (${leftBeforeRemoval.cgroups.length} cgroup dirs, ${leftBeforeRemoval.cgroupProcesses.length} processes in them); ` +
        `${stats.callsFailedByKill} calls failed under a kill ${JSON.stringify(failedByKill)}, ${stats.callsSkippedWhileDown} skipped while down, ${unexpected.length} unexpected errors; ` +
        `restart to ready: median ${median(restartMs)} ms, max ${Math.max(0, ...restartMs)} ms`,
    );
    // On a leak, berthd's own account of the leaked pods and containers (ids from the dir names) helps the reader.
    const leakedIds = [...new Set(Object.values(leaks).flat().map((x) => /[0-9a-f]{12}/.exec(path.basename(x.split(' ')[0]))?.[0]).filter((x): x is string => !!x))];
    for (const line of b.logLines.filter((l) => leakedIds.some((id) => l.includes(id))).slice(-40)) console.log(`      berthd: ${line}`);
    expect(unexpected, 'RPC errors other than a connection error under a kill').to.deep.equal([]);
    expect(leaks).to.deep.equal(NO_LEAKS);
    expect(stats.podsRun, 'pods run').to.be.at.least(MIN.podsRun);
    expect(stats.containersStarted, 'containers started').to.be.at.least(MIN.containersStarted);
    expect(kills.length, 'SIGKILLs sent').to.be.at.least(MIN.kills);
    expect(midRpcKills.size, 'SIGKILLs that landed while an RPC was in flight').to.be.at.least(MIN.midRpcKills);
  });
});
