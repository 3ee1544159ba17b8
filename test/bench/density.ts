/**
 * Density: `pods` pods with one sleeping container each, started back to back over the CRI
 * socket; the daemon's PSS idle and loaded, the PSS of the per-pod helpers the runtime runs (berth:
 * pause + conmon; containerd: pause + shim), the extra PSS per pod, and ListPodSandbox /
 * ListContainers latency once `listPods` pods exist (sandbox-only pods fill up the rest).
 * PSS comes from /proc/<pid>/smaps_rollup, so shared pages (libc, the node binary) are split
 * among the processes sharing them rather than counted once per process.
 */
import type { CriClient } from '../support/cri-client';
import { benchPodConfig, ensureImage } from './cri-sequence';
import { processMemory } from './daemon-startup';
import { removePods, startPods } from './pod-pool';
import { runtimeProcesses } from './proc-sampler';

/** What the density run needs. */
export interface DensityOptions {
  containerImage: string;
  cgroupParent: string;
  logDirectory: string;
  namePrefix: string;
  /** The runtime daemon's pid, for its PSS (undefined: not measured). */
  daemonPid: number | undefined;
  pods?: number;
  listPods?: number;
  listCalls?: number;
  log?: (line: string) => void;
}

/** What it measured. */
export interface DensityResult {
  pods: number;
  /** Wall time to start all pods with their containers. */
  totalMs: number;
  /** Each pod's Run + Create + Start (ms), in start order. */
  perPodMs: number[];
  daemonPssIdleKiB: number | undefined;
  daemonPssLoadedKiB: number | undefined;
  /** RSS of the daemon at the same two moments (counts shared pages in full). */
  daemonRssIdleKiB: number | undefined;
  daemonRssLoadedKiB: number | undefined;
  /** Per-pod helper processes found (pause, conmon or shim) and their summed PSS. */
  helperProcesses: number;
  helperPssKiB: number | undefined;
  /**
   * (max(0, daemon loaded − idle) + helpers) / pods. The daemon's part is clamped at 0: a V8
   * garbage collection between the two readings can make "loaded" smaller than "idle".
   */
  extraPssPerPodKiB: number | undefined;
  /** Pods that existed while List* was timed. */
  listPods: number;
  listPodSandboxMs: number[];
  listContainersMs: number[];
}

const pss = (pid: number | undefined): number | undefined => (pid === undefined ? undefined : processMemory(pid).pssKiB);
const rss = (pid: number | undefined): number | undefined => (pid === undefined ? undefined : processMemory(pid).rssKiB);

/** How long the runtime gets no requests before its idle memory is read. */
const IDLE_WAIT_MS = 12_000;

/** Runs the density measurement; every pod it made is removed again. */
export async function benchDensity(client: CriClient, opts: DensityOptions): Promise<DensityResult> {
  const n = opts.pods ?? 30;
  const listPods = Math.max(n, opts.listPods ?? 110);
  const log = opts.log ?? (() => undefined);
  await ensureImage(client, opts.containerImage);
  // "Idle" is 12 s without a request: time for a runtime to give back what earlier sections
  // made it grow (berthd checks every 10 s; Go's scavenger works in the background).
  await new Promise((r) => setTimeout(r, IDLE_WAIT_MS));
  const daemonPssIdleKiB = pss(opts.daemonPid);
  const daemonRssIdleKiB = rss(opts.daemonPid);
  const podIds: string[] = [];
  try {
    const started = await startPods(client, n, 1, { ...opts, namePrefix: `${opts.namePrefix}-dense` }, podIds);
    const totalMs = started.totalMs;
    const perPodMs = started.pods.map((p) => p.startMs);
    log(`  ${n} pods with a container started in ${(totalMs / 1000).toFixed(2)} s`);
    await new Promise((r) => setTimeout(r, 1000));
    const daemonPssLoadedKiB = pss(opts.daemonPid);
    const daemonRssLoadedKiB = rss(opts.daemonPid);
    const procs = await runtimeProcesses(client, podIds, started.pods.map((p) => p.containerId), opts.daemonPid);
    const helpers = new Set([...procs.podPids, ...procs.helperPids]);
    const helperPss = [...helpers].map((pid) => pss(pid));
    const helperPssKiB = helperPss.every((x) => x !== undefined) && helpers.size > 0 ? helperPss.reduce<number>((a, b) => a + b!, 0) : undefined;
    const extraPssPerPodKiB =
      daemonPssIdleKiB !== undefined && daemonPssLoadedKiB !== undefined && helperPssKiB !== undefined
        ? (Math.max(0, daemonPssLoadedKiB - daemonPssIdleKiB) + helperPssKiB) / n
        : undefined;

    for (let i = n; i < listPods; i++) {
      podIds.push((await client.runPodSandbox({ config: benchPodConfig(`${opts.namePrefix}-list-${i}`, opts) })).podSandboxId!);
    }
    const listPodSandboxMs = await timeCalls(() => client.listPodSandbox({}), opts.listCalls ?? 100);
    const listContainersMs = await timeCalls(() => client.listContainers({}), opts.listCalls ?? 100);
    log(`  List* timed at ${podIds.length} pods`);
    return {
      pods: n,
      totalMs,
      perPodMs,
      daemonPssIdleKiB,
      daemonPssLoadedKiB,
      daemonRssIdleKiB,
      daemonRssLoadedKiB,
      helperProcesses: helpers.size,
      helperPssKiB,
      extraPssPerPodKiB,
      listPods: podIds.length,
      listPodSandboxMs,
      listContainersMs,
    };
  } finally {
    await removePods(client, podIds);
  }
}

async function timeCalls(call: () => Promise<unknown>, calls: number): Promise<number[]> {
  for (let i = 0; i < 10; i++) await call();
  const samples: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t0 = performance.now();
    await call();
    samples.push(performance.now() - t0);
  }
  return samples;
}
