/**
 * Runs the per-runtime sections against every started runtime: Version/Status latency and the
 * density run one runtime after the other; the CRI sequence interleaved step by step (pod cycle of
 * runtime A, then of runtime B, …), so drifting background load on a shared machine hits both
 * columns alike.
 */
import * as path from 'node:path';
import { createCriClient, type CriClient } from '../support/cri-client';
import type { BenchArgs } from './bench-args';
import type { BenchImages } from './bench-images';
import { emptySamples, ensureImage, runStepsInterleaved, sequenceSteps } from './cri-sequence';
import { processMemory } from './daemon-startup';
import { benchDensity } from './density';
import { benchKubeletLoad } from './kubelet-load';
import { benchParallelStart } from './parallel-start';
import type { RuntimeRun } from './report-model';
import { benchRpcLatencyInterleaved } from './rpc-latency';

/** A runtime being benched. */
export interface Target {
  label: string;
  socketPath: string;
  daemonPid?: number;
  readyMs?: number;
  metricsAddress?: string;
  /** Images a node of this runtime has before pods start (containerd's sandbox image). */
  prePull?: string[];
  cleanup(): Promise<void>;
}

/** Shared scratch settings of one bench run. */
export interface RunScratch {
  cgroupParent: string;
  logDir: string;
  rand: string;
}

/** Runs the selected sections against `targets`; returns one RuntimeRun per target. */
export async function benchTargets(targets: Target[], args: BenchArgs, images: BenchImages | undefined, scratch: RunScratch, progress: (line: string) => void): Promise<RuntimeRun[]> {
  const clients: CriClient[] = targets.map((t) => createCriClient(t.socketPath));
  try {
    const runs: RuntimeRun[] = [];
    for (const [i, target] of targets.entries()) {
      const client = clients[i];
      const v = await client.version({ version: 'v1' });
      const run: RuntimeRun = { label: target.label, version: `${v.runtimeName} ${v.runtimeVersion}`, samples: {}, readyMs: target.readyMs };
      if (target.daemonPid !== undefined) run.startPssKiB = processMemory(target.daemonPid).pssKiB;
      // A node has its sandbox image before the first pod (kubelet pins it): not part of RunPodSandbox.
      for (const image of target.prePull ?? []) await ensureImage(client, image);
      runs.push(run);
    }
    if (args.sections.includes('rpc-latency')) {
      progress(`Version/Status latency (${args.calls} calls each, ${targets.map((t) => t.label).join(' / ')} interleaved call by call)`);
      const results = await benchRpcLatencyInterleaved(clients, { calls: args.calls, rpcs: ['Version', 'Status'] });
      results.forEach((r, i) => r.rows.forEach((row) => (runs[i].samples[row.rpc] = row.samples)));
    }
    const common = (t: Target) => ({ cgroupParent: scratch.cgroupParent, logDirectory: path.join(scratch.logDir, t.label), namePrefix: `bench-${scratch.rand}-${t.label}` });
    if (args.sections.includes('cri') && images) {
      progress(`CRI sequence, ${targets.map((t) => t.label).join(' / ')} interleaved step by step`);
      const samples = targets.map(() => emptySamples());
      const lists = targets.map((t, i) =>
        sequenceSteps(clients[i], { ...common(t), containerImage: images.container, pullImage: images.pull, pods: args.pods, containers: args.containers, pulls: args.pulls, scratch: args.scratch, warmupCalls: args.warmupCalls }, samples[i]),
      );
      await runStepsInterleaved(lists, progress, args.settleMs);
      samples.forEach((s, i) => Object.assign(runs[i].samples, s));
      for (const [i, t] of targets.entries()) if (t.metricsAddress) (runs[i].notes ??= []).push(await podStartHistogramSummary(t.metricsAddress));
    }
    if (args.sections.includes('density') && images) {
      for (const [i, target] of targets.entries()) {
        progress(`${target.label}: density`);
        const d = await benchDensity(clients[i], { ...common(target), containerImage: images.container, daemonPid: target.daemonPid, pods: args.densityPods, listPods: args.listPods, log: progress });
        runs[i].density = d;
        runs[i].samples.DensityPodStart = d.perPodMs;
        runs[i].samples.ListPodSandbox = d.listPodSandboxMs;
        runs[i].samples.ListContainers = d.listContainersMs;
      }
    }
    if (args.sections.includes('parallel-start') && images) {
      for (const [i, target] of targets.entries()) {
        progress(`${target.label}: parallel start (${args.startPods} pods, ${args.inFlight} in flight)`);
        const own = { ...common(target), namePrefix: `${common(target).namePrefix}-par`, containerImage: images.container, daemonPid: target.daemonPid, metricsAddress: target.metricsAddress };
        const p = await benchParallelStart(clients[i], { ...own, pods: args.startPods, inFlight: args.inFlight, memoryWaitS: args.memoryWaitS, quietBeforeS: args.quietBeforeS, log: progress });
        runs[i].parallelStart = p;
        runs[i].samples.ParallelPodStart = p.perPodMs;
      }
    }
    if (args.sections.includes('kubelet') && images) {
      const opts = targets.map((t) => ({ ...common(t), namePrefix: `${common(t).namePrefix}-kub`, label: t.label, containerImage: images.container, daemonPid: t.daemonPid, metricsAddress: t.metricsAddress }));
      const kubelet = await benchKubeletLoad(clients, opts.map((o) => ({ ...o, pods: args.kubeletPods, durationS: args.durationS, probeShare: args.probeShare, inFlight: args.inFlight, log: progress })), args.rounds);
      kubelet.forEach((k, i) => (runs[i].kubelet = k));
    }
    return runs;
  } finally {
    for (const c of clients) c.close();
  }
}

/** The pod start step histogram as berthd's /metrics shows it: count and mean per step. */
export async function podStartHistogramSummary(metricsAddress: string): Promise<string> {
  try {
    const text = await (await fetch(`http://${metricsAddress}/metrics`)).text();
    const steps = summarizeStepHistogram(text);
    if (steps.length === 0) return 'berthd /metrics: no pod_start_step_seconds samples (histogram not wired?)';
    return `berthd /metrics pod_start_step_seconds (count, mean ms): ${steps.map((s) => `${s.step} ${s.count} ${s.meanMs.toFixed(1)}`).join(', ')}`;
  } catch (err) {
    return `berthd /metrics unreadable: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/** Count and mean of each step of a `*pod_start_step_seconds` histogram in Prometheus text. */
export function summarizeStepHistogram(text: string): Array<{ step: string; count: number; meanMs: number }> {
  const sums = new Map<string, number>();
  const counts = new Map<string, number>();
  for (const m of text.matchAll(/pod_start_step_seconds_(sum|count)\{[^}]*step="([^"]+)"[^}]*\} ([0-9.eE+-]+)/g)) {
    (m[1] === 'sum' ? sums : counts).set(m[2], Number(m[3]));
  }
  return [...counts.entries()].filter(([, n]) => n > 0).map(([step, count]) => ({ step, count, meanMs: ((sums.get(step) ?? 0) / count) * 1000 }));
}
