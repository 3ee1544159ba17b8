/**
 * Bench section `kubelet`: a busy node's steady state. Starts `pods` pods with one sleeping
 * container each, lets the runtime settle, then plays kubelet's polling (kubelet-schedule.ts) for
 * `durationS` seconds and measures what it cost the runtime: CPU time of the daemon and of its
 * per-container helpers (conmon / containerd-shim; pause is a pod process for both runtimes and
 * reported apart), each RPC's latency, berthd's event-loop delay over the window, and PSS at the
 * end. Then removes every pod.
 */
import type { CriClient } from '../support/cri-client';
import { ensureImage } from './cri-sequence';
import { processMemory } from './daemon-startup';
import { kubeletSchedule, KUBELET_RPCS, probedPodCount, type KubeletCall, type KubeletEvent, type KubeletRpc } from './kubelet-schedule';
import { scrapeLoopLag, type LoopLag } from './loop-lag';
import { removePods, startPods, type PodPoolOptions, type StartedPod } from './pod-pool';
import { cpuDelta, cpuSnapshot, runtimeProcesses, ticksPerSecond, type CpuSnapshot } from './proc-sampler';

/** What the section needs. */
export interface KubeletLoadOptions extends PodPoolOptions {
  daemonPid: number | undefined;
  /** berthd's /metrics address (event-loop delay); undefined for other runtimes. */
  metricsAddress: string | undefined;
  pods: number;
  durationS: number;
  probeShare: number;
  /** Pods started (and removed) this many at a time. */
  inFlight: number;
  /** Quiet time between the last pod start and the window (ms). */
  settleMs?: number;
  log?: (line: string) => void;
}

/** CPU seconds over the window. */
export interface WindowCpu {
  daemonSelfS: number;
  /** Children the daemon waited for (runc, CNI plugins, exec helpers). */
  daemonChildrenS: number;
  helpers: number;
  helpersSelfS: number;
  helpersChildrenS: number;
  /** Helpers that were gone (or whose pid was reused) at the end: their CPU is not counted. */
  helpersLost: number;
  podProcesses: number;
  /** pause (or the sandbox container) of every pod, self + children. */
  podProcessesS: number;
}

/** What the section measured on one runtime. */
export interface KubeletResult {
  pods: number;
  durationS: number;
  probedPods: number;
  /** Actual wall time of the window, to the last call's answer (ms). */
  windowMs: number;
  samples: Record<KubeletRpc, number[]>;
  errors: Record<KubeletRpc, number>;
  firstError?: string;
  /** Most events in flight at once. */
  maxInFlight: number;
  cpu: WindowCpu | undefined;
  loopLag: LoopLag | undefined;
  daemonPssKiB: number | undefined;
  helpersPssKiB: number | undefined;
  setupMs: number;
  teardownMs: number;
}

/** The probe command: short, prints something, exists in the bench busybox image. */
export const PROBE_COMMAND = ['echo', 'ready'];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One CRI call of the timetable against started pods; rejects on an error status or a failed probe. */
function callRpc(client: CriClient, c: KubeletCall, pods: readonly StartedPod[]): Promise<unknown> {
  const opts = { timeoutMs: 10_000 };
  const pod = pods[c.pod ?? 0];
  switch (c.rpc) {
    case 'ListPodSandbox': return client.listPodSandbox({}, opts);
    case 'ListContainers': return client.listContainers({}, opts);
    case 'PodSandboxStatus': return client.podSandboxStatus({ podSandboxId: pod.podId }, opts);
    case 'ContainerStatus': return client.containerStatus({ containerId: pod.containerId }, opts);
    case 'ListPodSandboxStats': return client.listPodSandboxStats({}, opts);
    case 'ListContainerStats': return client.listContainerStats({}, opts);
    case 'ImageFsInfo': return client.imageFsInfo({}, opts);
    case 'ExecSync':
      return client.execSync({ containerId: pod.containerId, cmd: PROBE_COMMAND, timeout: 1 }, opts).then((r) => {
        if (r.exitCode) throw new Error(`ExecSync exit code ${r.exitCode}: ${Buffer.from(r.stderr ?? []).toString().slice(0, 200)}`);
      });
  }
}

/** Plays `events` open loop (each at its time, not waiting for earlier ones); the calls of one event run in order. */
export async function playTimetable(
  events: readonly KubeletEvent[],
  call: (c: KubeletCall) => Promise<unknown>,
  record: (rpc: KubeletRpc, ms: number, err: unknown) => void,
): Promise<{ wallMs: number; maxInFlight: number }> {
  const t0 = performance.now();
  let inFlight = 0;
  let maxInFlight = 0;
  const running: Array<Promise<void>> = [];
  for (const e of events) {
    const wait = t0 + e.atMs - performance.now();
    if (wait > 0) await sleep(wait);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    running.push(
      (async () => {
        for (const c of e.calls) {
          const start = performance.now();
          let failure: unknown;
          await call(c).catch((err: unknown) => void (failure = err ?? new Error('rejected')));
          record(c.rpc, performance.now() - start, failure);
        }
        inFlight--;
      })(),
    );
  }
  await Promise.all(running);
  return { wallMs: performance.now() - t0, maxInFlight };
}

/** Runs the section on one runtime; every pod it made is removed again. */
export async function benchKubeletLoad(client: CriClient, opts: KubeletLoadOptions): Promise<KubeletResult> {
  const log = opts.log ?? (() => undefined);
  await ensureImage(client, opts.containerImage);
  const podIds: string[] = [];
  try {
    const started = await startPods(client, opts.pods, opts.inFlight, opts, podIds);
    log(`  ${started.pods.length} pods started in ${(started.totalMs / 1000).toFixed(1)} s (${opts.inFlight} in flight)`);
    const procs = await runtimeProcesses(client, started.pods.map((p) => p.podId), started.pods.map((p) => p.containerId), opts.daemonPid);
    await sleep(opts.settleMs ?? 5000);

    const events = kubeletSchedule({ pods: started.pods.length, durationMs: opts.durationS * 1000, probeShare: opts.probeShare });
    const samples = Object.fromEntries(KUBELET_RPCS.map((r) => [r, [] as number[]])) as unknown as Record<KubeletRpc, number[]>;
    const errors = Object.fromEntries(KUBELET_RPCS.map((r) => [r, 0])) as Record<KubeletRpc, number>;
    let firstError: string | undefined;
    const daemon = opts.daemonPid === undefined ? [] : [opts.daemonPid];
    log(`  polling for ${opts.durationS} s (${events.length} events; ${probedPodCount(started.pods.length, opts.probeShare)} probed pods)`);
    await scrapeLoopLag(opts.metricsAddress); // resets the histogram: the next scrape covers the window only
    const before = { daemon: cpuSnapshot(daemon), helpers: cpuSnapshot(procs.helperPids), pods: cpuSnapshot(procs.podPids) };
    const played = await playTimetable(
      events,
      (c) => callRpc(client, c, started.pods),
      (rpc, ms, err) => {
        if (err === undefined) samples[rpc].push(ms);
        else {
          errors[rpc]++;
          firstError ??= `${rpc}: ${err instanceof Error ? err.message : String(err)}`;
        }
      },
    );
    const after = { daemon: cpuSnapshot(daemon), helpers: cpuSnapshot(procs.helperPids), pods: cpuSnapshot(procs.podPids) };
    const loopLag = await scrapeLoopLag(opts.metricsAddress);
    const sumPss = (pids: Set<number>) => [...pids].reduce((n, pid) => n + (memoryOf(pid) ?? 0), 0);
    const result: KubeletResult = {
      pods: started.pods.length,
      durationS: opts.durationS,
      probedPods: probedPodCount(started.pods.length, opts.probeShare),
      windowMs: played.wallMs,
      samples,
      errors,
      firstError,
      maxInFlight: played.maxInFlight,
      cpu: opts.daemonPid === undefined ? undefined : windowCpu(before, after),
      loopLag,
      daemonPssKiB: opts.daemonPid === undefined ? undefined : memoryOf(opts.daemonPid),
      helpersPssKiB: procs.helperPids.size > 0 ? sumPss(procs.helperPids) : undefined,
      setupMs: started.totalMs,
      teardownMs: 0,
    };
    const toRemove = podIds.splice(0);
    result.teardownMs = await removePods(client, toRemove, opts.inFlight);
    log(`  ${toRemove.length} pods removed in ${(result.teardownMs / 1000).toFixed(1)} s`);
    return result;
  } finally {
    if (podIds.length > 0) await removePods(client, podIds, opts.inFlight);
  }
}

function memoryOf(pid: number): number | undefined {
  try {
    return processMemory(pid).pssKiB;
  } catch {
    return undefined;
  }
}

type Snapshots = { daemon: CpuSnapshot; helpers: CpuSnapshot; pods: CpuSnapshot };

/** CPU seconds of daemon, helpers and pod processes between two sets of snapshots. */
export function windowCpu(before: Snapshots, after: Snapshots, hz = ticksPerSecond()): WindowCpu {
  const d = cpuDelta(before.daemon, after.daemon);
  const h = cpuDelta(before.helpers, after.helpers);
  const p = cpuDelta(before.pods, after.pods);
  return {
    daemonSelfS: d.self / hz,
    daemonChildrenS: d.children / hz,
    helpers: before.helpers.size,
    helpersSelfS: h.self / hz,
    helpersChildrenS: h.children / hz,
    helpersLost: h.missing,
    podProcesses: before.pods.size,
    podProcessesS: (p.self + p.children) / hz,
  };
}
