/**
 * Text tables of the kubelet steady state and parallel-start sections: one column per runtime and,
 * with two runtimes, the ratio first/second (berth/containerd: above 1 means berth costs more).
 */
import type { KubeletResult } from './kubelet-load';
import { KUBELET_RPCS } from './kubelet-schedule';
import type { ParallelStartResult } from './parallel-start';
import type { RuntimeRun } from './report-model';
import { fmtMs, formatTable, quantile } from './stats';

/** "a/b" as "1.8×", or "-" when either is missing or b is 0. */
export function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '-';
  return `${(a / b).toFixed(a / b < 10 ? 2 : 1)}×`;
}

/** A measure with one number per runtime. */
export interface Measure {
  name: string;
  value: (r: RuntimeRun) => number | undefined;
  /** Decimals (default 2). */
  digits?: number;
}

/** Rows of `measures`: name, a cell per run, and the ratio first/second with two runs. */
export function comparisonRows(runs: readonly RuntimeRun[], measures: readonly Measure[]): string[][] {
  return measures.map((m) => {
    const values = runs.map((r) => m.value(r));
    const cells = [m.name, ...values.map((v) => (v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(m.digits ?? 2)))];
    if (runs.length === 2) cells.push(ratio(values[0], values[1]));
    return cells;
  });
}

const ratioHeader = (runs: readonly RuntimeRun[]): string[] => (runs.length === 2 ? [`${runs[0].label}/${runs[1].label}`] : []);
const mib = (kib: number | undefined) => (kib === undefined ? undefined : kib / 1024);

/** Per-RPC p50 / p99 (ms) and count of the kubelet window, the ratio of p50 and of p99. */
export function formatKubeletRpcTable(runs: readonly RuntimeRun[]): string {
  const withK = runs.filter((r) => r.kubelet);
  const header = ['RPC (ms)', ...withK.flatMap((r) => [`${r.label} p50`, `${r.label} p99`, `${r.label} n`])];
  if (withK.length === 2) header.push(`p50 ${withK[0].label}/${withK[1].label}`, 'p99 ratio');
  const rows = KUBELET_RPCS.map((rpc) => {
    const cells: string[] = [rpc];
    const p50: number[] = [];
    const p99: number[] = [];
    for (const r of withK) {
      const xs = r.kubelet!.samples[rpc];
      const errs = r.kubelet!.errors[rpc];
      p50.push(quantile(xs, 0.5));
      p99.push(quantile(xs, 0.99));
      cells.push(fmtMs(p50.at(-1)!), fmtMs(p99.at(-1)!), `${xs.length}${errs ? ` +${errs} err` : ''}`);
    }
    if (withK.length === 2) cells.push(ratio(p50[0], p50[1]), ratio(p99[0], p99[1]));
    return cells;
  });
  return formatTable(header, rows);
}

/** CPU, event-loop delay and memory of the kubelet window. */
export function formatKubeletCostTable(runs: readonly RuntimeRun[]): string {
  const withK = runs.filter((r) => r.kubelet);
  const k = (r: RuntimeRun) => r.kubelet!;
  const cpu = (r: RuntimeRun) => k(r).cpu;
  const total = (r: RuntimeRun) => {
    const c = cpu(r);
    return c && c.daemonSelfS + c.daemonChildrenS + c.helpersSelfS + c.helpersChildrenS;
  };
  const measures: Measure[] = [
    { name: 'window s (to the last answer)', value: (r) => k(r).windowMs / 1000, digits: 1 },
    { name: 'daemon CPU s (own)', value: (r) => cpu(r)?.daemonSelfS },
    { name: 'daemon CPU s (children it waited for)', value: (r) => cpu(r)?.daemonChildrenS },
    { name: 'helpers (conmon / shim) found', value: (r) => cpu(r)?.helpers, digits: 0 },
    { name: 'helpers CPU s (own)', value: (r) => cpu(r)?.helpersSelfS },
    { name: 'helpers CPU s (children they waited for)', value: (r) => cpu(r)?.helpersChildrenS },
    { name: 'daemon + helpers CPU s', value: total },
    { name: 'daemon + helpers CPU % of one core', value: (r) => (total(r) === undefined ? undefined : (100 * total(r)!) / (k(r).windowMs / 1000)), digits: 1 },
    { name: 'pod processes (pause) CPU s', value: (r) => cpu(r)?.podProcessesS },
    { name: 'event-loop delay p50 ms', value: (r) => k(r).loopLag?.p50Ms },
    { name: 'event-loop delay p99 ms', value: (r) => k(r).loopLag?.p99Ms },
    { name: 'event-loop delay max ms', value: (r) => k(r).loopLag?.maxMs },
    { name: 'daemon PSS MiB (end of window)', value: (r) => mib(k(r).daemonPssKiB), digits: 1 },
    { name: 'daemon + helpers PSS MiB', value: (r) => (k(r).daemonPssKiB === undefined ? undefined : mib(k(r).daemonPssKiB! + (k(r).helpersPssKiB ?? 0))), digits: 1 },
    { name: 'most events in flight', value: (r) => k(r).maxInFlight, digits: 0 },
    { name: 'pods start s (before the window)', value: (r) => k(r).setupMs / 1000, digits: 1 },
    { name: 'pods removal s (after it)', value: (r) => k(r).teardownMs / 1000, digits: 1 },
  ];
  const lost = withK.filter((r) => (cpu(r)?.helpersLost ?? 0) > 0).map((r) => `${r.label}: ${cpu(r)!.helpersLost} helpers gone during the window (their CPU is missing)`);
  const errors = withK.filter((r) => k(r).firstError).map((r) => `${r.label}: first error: ${k(r).firstError}`);
  return [formatTable(['kubelet window cost', ...withK.map((r) => r.label), ...ratioHeader(withK)], comparisonRows(withK, measures)), ...lost, ...errors].join('\n');
}

/** The parallel start and the memory kept after it. */
export function formatParallelStartTable(runs: readonly RuntimeRun[]): string {
  const withP = runs.filter((r) => r.parallelStart);
  const p = (r: RuntimeRun): ParallelStartResult => r.parallelStart!;
  const measures: Measure[] = [
    { name: 'total wall s', value: (r) => p(r).totalMs / 1000 },
    { name: 'per pod start p50 ms', value: (r) => quantile(p(r).perPodMs, 0.5), digits: 1 },
    { name: 'per pod start p90 ms', value: (r) => quantile(p(r).perPodMs, 0.9), digits: 1 },
    { name: 'event-loop delay p99 ms (during)', value: (r) => p(r).loopLag?.p99Ms },
    { name: 'event-loop delay max ms (during)', value: (r) => p(r).loopLag?.maxMs },
    { name: 'removal wall s', value: (r) => p(r).teardownMs / 1000 },
    { name: 'daemon PSS MiB before', value: (r) => mib(p(r).daemonPssBeforeKiB), digits: 1 },
    { name: `daemon PSS MiB ${withP[0]?.parallelStart?.memoryWaitS ?? '?'} s after removal`, value: (r) => mib(p(r).daemonPssAfterKiB), digits: 1 },
    { name: 'daemon anonymous MiB then (no file pages)', value: (r) => mib(p(r).daemonAnonAfterKiB), digits: 1 },
  ];
  return formatTable(['parallel start', ...withP.map((r) => r.label), ...ratioHeader(withP)], comparisonRows(withP, measures));
}

/** Heading of the kubelet section. */
export function kubeletHeading(k: KubeletResult): string {
  const rounds = k.rounds > 1 ? ` in ${k.rounds} rounds interleaved between the runtimes (event-loop delay: worst round)` : '';
  return `kubelet steady state (${k.pods} pods, ${k.durationS} s${rounds}; relist 1/s, 2 pod status syncs/s, stats every 10 s, ExecSync probe on ${k.probedPods} pods every 10 s)`;
}

/** Heading of the parallel-start section. */
export function parallelStartHeading(p: ParallelStartResult): string {
  return `parallel start (${p.pods} pods with a container, ${p.inFlight} in flight; then removed)`;
}
