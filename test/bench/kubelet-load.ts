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
import { cpuDelta, cpuSnapshot, runtimeProcesses, ticksPerSecond, type CpuSnapshot, type RuntimeProcesses } from './proc-sampler';

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
  /** Runtime name in progress lines. */
  label: string;
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
  /** Windows the duration was played in (interleaved with other runtimes when more than 1). */
  rounds: number;
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

/** One runtime's pods, started and their processes found, between polling windows. */
export interface KubeletNode {
  client: CriClient;
  opts: KubeletLoadOptions;
  pods: StartedPod[];
  procs: RuntimeProcesses;
  setupMs: number;
  /** Sandboxes still to remove. */
  podIds: string[];
}

/** What one polling window measured. */
export type KubeletWindow = Pick<KubeletResult, 'windowMs' | 'samples' | 'errors' | 'firstError' | 'maxInFlight' | 'cpu' | 'loopLag'>;

/** Starts the node's pods (removed again when a start fails) and finds their processes. */
export async function startKubeletNode(client: CriClient, opts: KubeletLoadOptions): Promise<KubeletNode> {
  await ensureImage(client, opts.containerImage);
  const podIds: string[] = [];
  try {
    const started = await startPods(client, opts.pods, opts.inFlight, opts, podIds);
    opts.log?.(`  ${started.pods.length} pods started in ${(started.totalMs / 1000).toFixed(1)} s (${opts.inFlight} in flight)`);
    const procs = await runtimeProcesses(client, started.pods.map((p) => p.podId), started.pods.map((p) => p.containerId), opts.daemonPid);
    return { client, opts, pods: started.pods, procs, setupMs: started.totalMs, podIds };
  } catch (err) {
    await removePods(client, podIds, opts.inFlight);
    throw err;
  }
}

/** The events of `events` in [fromMs, toMs), moved to start at 0. */
export function timetableSlice(events: readonly KubeletEvent[], fromMs: number, toMs: number): KubeletEvent[] {
  return events.filter((e) => e.atMs >= fromMs && e.atMs < toMs).map((e) => ({ ...e, atMs: e.atMs - fromMs }));
}

/**
 * Plays part `round` of `rounds` of a `durationS` kubelet timetable on a started node and measures
 * it (all of it for one round): the parts together make exactly the one-window call mix.
 */
export async function pollKubeletWindow(node: KubeletNode, durationS: number, round = 0, rounds = 1): Promise<KubeletWindow> {
  const { client, opts, procs } = node;
  const part = (durationS * 1000) / rounds;
  const events = timetableSlice(kubeletSchedule({ pods: node.pods.length, durationMs: durationS * 1000, probeShare: opts.probeShare }), round * part, (round + 1) * part);
  const samples = Object.fromEntries(KUBELET_RPCS.map((r) => [r, [] as number[]])) as unknown as Record<KubeletRpc, number[]>;
  const errors = Object.fromEntries(KUBELET_RPCS.map((r) => [r, 0])) as Record<KubeletRpc, number>;
  let firstError: string | undefined;
  const daemon = opts.daemonPid === undefined ? [] : [opts.daemonPid];
  opts.log?.(`  polling for ${(part / 1000).toFixed(1)} s (${events.length} events; ${probedPodCount(node.pods.length, opts.probeShare)} probed pods)`);
  await scrapeLoopLag(opts.metricsAddress); // resets the histogram: the next scrape covers the window only
  const before = { daemon: cpuSnapshot(daemon), helpers: cpuSnapshot(procs.helperPids), pods: cpuSnapshot(procs.podPids) };
  const played = await playTimetable(
    events,
    (c) => callRpc(client, c, node.pods),
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
  return { windowMs: played.wallMs, samples, errors, firstError, maxInFlight: played.maxInFlight, cpu: opts.daemonPid === undefined ? undefined : windowCpu(before, after), loopLag };
}

/** Reads the node's PSS, removes its pods and puts the windows together. */
export async function finishKubeletNode(node: KubeletNode, windows: readonly KubeletWindow[], durationS: number): Promise<KubeletResult> {
  const { opts, procs } = node;
  const sumPss = (pids: Set<number>) => [...pids].reduce((n, pid) => n + (memoryOf(pid) ?? 0), 0);
  const daemonPssKiB = opts.daemonPid === undefined ? undefined : memoryOf(opts.daemonPid);
  const helpersPssKiB = procs.helperPids.size > 0 ? sumPss(procs.helperPids) : undefined;
  const count = node.podIds.length;
  const teardownMs = await removePods(node.client, node.podIds.splice(0), opts.inFlight);
  opts.log?.(`  ${count} pods removed in ${(teardownMs / 1000).toFixed(1)} s`);
  return {
    ...mergeWindows(windows),
    pods: node.pods.length,
    durationS,
    rounds: windows.length,
    probedPods: probedPodCount(node.pods.length, opts.probeShare),
    daemonPssKiB,
    helpersPssKiB,
    setupMs: node.setupMs,
    teardownMs,
  };
}

/**
 * Several windows as one: samples and errors together, CPU and wall time added up, and the worst
 * window's event-loop delay (percentiles of separate windows cannot be merged).
 */
export function mergeWindows(windows: readonly KubeletWindow[]): KubeletWindow {
  if (windows.length === 0) throw new Error('merge kubelet windows: none');
  const samples = Object.fromEntries(KUBELET_RPCS.map((r) => [r, windows.flatMap((w) => w.samples[r])])) as unknown as Record<KubeletRpc, number[]>;
  const errors = Object.fromEntries(KUBELET_RPCS.map((r) => [r, windows.reduce((n, w) => n + w.errors[r], 0)])) as Record<KubeletRpc, number>;
  const cpus = windows.map((w) => w.cpu).filter((c): c is WindowCpu => c !== undefined);
  const sum = (f: (c: WindowCpu) => number) => cpus.reduce((n, c) => n + f(c), 0);
  const max = (f: (c: WindowCpu) => number) => Math.max(...cpus.map(f));
  const lags = windows.map((w) => w.loopLag).filter((l): l is LoopLag => l !== undefined);
  const worst = (f: (l: LoopLag) => number) => Math.max(...lags.map(f));
  return {
    windowMs: windows.reduce((n, w) => n + w.windowMs, 0),
    samples,
    errors,
    firstError: windows.find((w) => w.firstError)?.firstError,
    maxInFlight: Math.max(...windows.map((w) => w.maxInFlight)),
    cpu:
      cpus.length === windows.length
        ? {
            daemonSelfS: sum((c) => c.daemonSelfS),
            daemonChildrenS: sum((c) => c.daemonChildrenS),
            helpers: max((c) => c.helpers),
            helpersSelfS: sum((c) => c.helpersSelfS),
            helpersChildrenS: sum((c) => c.helpersChildrenS),
            helpersLost: max((c) => c.helpersLost),
            podProcesses: max((c) => c.podProcesses),
            podProcessesS: sum((c) => c.podProcessesS),
          }
        : undefined,
    loopLag: lags.length === windows.length ? { p50Ms: worst((l) => l.p50Ms), p99Ms: worst((l) => l.p99Ms), maxMs: worst((l) => l.maxMs) } : undefined,
  };
}

/**
 * The section on several runtimes. With one round, one runtime after the other (start, settle,
 * poll, remove). With `rounds` > 1, every runtime's pods are started first, then the window is
 * cut into `rounds` parts played in turn (A, B, A, B, …) so that drifting background load hits
 * every runtime alike; each window then also runs beside the other runtimes' idle pods.
 */
export async function benchKubeletLoad(clients: readonly CriClient[], opts: readonly KubeletLoadOptions[], rounds: number): Promise<KubeletResult[]> {
  const settle = (o: KubeletLoadOptions) => sleep(o.settleMs ?? 5000);
  const durationS = opts[0]?.durationS ?? 0;
  if (rounds <= 1 || clients.length < 2) {
    const out: KubeletResult[] = [];
    for (const [i, client] of clients.entries()) {
      opts[i].log?.(`${opts[i].label}: kubelet steady state (${opts[i].pods} pods, ${durationS} s)`);
      const node = await startKubeletNode(client, opts[i]);
      try {
        await settle(opts[i]);
        out.push(await finishKubeletNode(node, [await pollKubeletWindow(node, durationS)], durationS));
      } finally {
        await removePods(client, node.podIds.splice(0), opts[i].inFlight);
      }
    }
    return out;
  }
  const nodes: KubeletNode[] = [];
  try {
    for (const [i, client] of clients.entries()) {
      opts[i].log?.(`${opts[i].label}: kubelet pods (${opts[i].pods})`);
      nodes.push(await startKubeletNode(client, opts[i]));
    }
    await settle(opts[0]);
    const windows: KubeletWindow[][] = nodes.map(() => []);
    for (let r = 0; r < rounds; r++) {
      for (const [i, node] of nodes.entries()) {
        opts[i].log?.(`${opts[i].label}: kubelet round ${r + 1}/${rounds}`);
        windows[i].push(await pollKubeletWindow(node, durationS, r, rounds));
      }
    }
    const out: KubeletResult[] = [];
    for (const [i, node] of nodes.entries()) out.push(await finishKubeletNode(node, windows[i], durationS));
    return out;
  } finally {
    for (const node of nodes) await removePods(node.client, node.podIds.splice(0), node.opts.inFlight);
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
