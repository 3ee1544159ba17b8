/**
 * What one bench run produced, per runtime, and its text rendering: one table per run with a
 * column pair per runtime and the ratio when two runtimes were measured.
 */
import type { DensityResult } from './density';
import type { KubeletResult } from './kubelet-load';
import type { ParallelStartResult } from './parallel-start';
import { SEQUENCE_OPS } from './cri-sequence';
import { fmtMs, formatTable, quantile } from './stats';

/** The measurements of one runtime. */
export interface RuntimeRun {
  /** Short name used in column headers ("berth", "containerd"). */
  label: string;
  /** Its Version answer, e.g. "berth 0.1.0" or "containerd 1.6.20~ds1". */
  version: string;
  /** Raw latency samples (ms) per operation. */
  samples: Record<string, number[]>;
  density?: DensityResult;
  /** The kubelet steady-state section. */
  kubelet?: KubeletResult;
  /** The parallel-start section (and the PSS kept after it). */
  parallelStart?: ParallelStartResult;
  /** Spawn → serving (ms), when the bench started it. */
  readyMs?: number;
  /** Daemon PSS right after start (KiB), when the bench started it. */
  startPssKiB?: number;
  /** Extra lines worth printing with the tables (e.g. berthd's pod start step means). */
  notes?: string[];
}

/** The whole report. */
export interface BenchReport {
  startedAt: string;
  /** Node version, cores, load average, what else was running. */
  conditions: string;
  runs: RuntimeRun[];
}

/** Targets from issues 4, 5 and 8 (2-core VM). */
export const TARGETS_MS: Record<string, number> = {
  RunPodSandbox: 150,
  StopPodSandbox: 150,
  RemovePodSandbox: 40,
  CreateContainer: 10,
  StartContainer: 90,
  PodAndContainerFromScratch: 400,
  ListPodSandbox: 5,
  ListContainers: 5,
};

/** Operations in report order: the sequence, then the density list timings. */
export function reportOps(report: BenchReport): string[] {
  const seen = new Set<string>();
  for (const r of report.runs) for (const [op, xs] of Object.entries(r.samples)) if (xs.length > 0) seen.add(op);
  const ordered: string[] = [...SEQUENCE_OPS, 'DensityPodStart', 'ListPodSandbox', 'ListContainers'].filter((op) => seen.has(op));
  return [...ordered, ...[...seen].filter((op) => !ordered.includes(op))];
}

const mib = (kib: number | undefined): string => (kib === undefined || !Number.isFinite(kib) ? '-' : (kib / 1024).toFixed(1));

/** The latency table: median and p90 per runtime, ratio other/first, target. */
export function formatLatencyTable(report: BenchReport): string {
  const runs = report.runs;
  const header = ['operation (ms)', ...runs.flatMap((r) => [`${r.label} median`, `${r.label} p90`])];
  if (runs.length === 2) header.push(`${runs[1].label}/${runs[0].label}`);
  header.push('target', 'n');
  const rows = reportOps(report).map((op) => {
    const cells = [op];
    const medians: number[] = [];
    for (const r of runs) {
      const xs = r.samples[op] ?? [];
      const m = quantile(xs, 0.5);
      medians.push(m);
      cells.push(fmtMs(m), fmtMs(quantile(xs, 0.9)));
    }
    if (runs.length === 2) cells.push(Number.isFinite(medians[0]) && Number.isFinite(medians[1]) && medians[0] > 0 ? `${(medians[1] / medians[0]).toFixed(1)}×` : '-');
    const target = TARGETS_MS[op];
    const own = medians[0];
    cells.push(target === undefined ? '' : `≤ ${target}${Number.isFinite(own) ? (own <= target ? ' ok' : ' MISS') : ''}`);
    cells.push(runs.map((r) => String((r.samples[op] ?? []).length)).join('/'));
    return cells;
  });
  return formatTable(header, rows);
}

/** The density/memory table, one column per runtime. */
export function formatDensityTable(report: BenchReport): string {
  const runs = report.runs;
  const row = (name: string, f: (r: RuntimeRun) => string) => [name, ...runs.map(f)];
  const d = (r: RuntimeRun) => r.density;
  const rows = [
    row('daemon spawn → serving ms', (r) => (r.readyMs === undefined ? '-' : String(r.readyMs))),
    row('daemon PSS after start MiB', (r) => mib(r.startPssKiB)),
    row('pods started (pod + container each)', (r) => String(d(r)?.pods ?? '-')),
    row('  total s', (r) => (d(r) ? (d(r)!.totalMs / 1000).toFixed(2) : '-')),
    row('  per pod ms', (r) => (d(r) ? fmtMs(d(r)!.totalMs / d(r)!.pods) : '-')),
    row('daemon PSS idle MiB', (r) => mib(d(r)?.daemonPssIdleKiB)),
    row('daemon PSS loaded MiB', (r) => mib(d(r)?.daemonPssLoadedKiB)),
    row('daemon RSS idle / loaded MiB', (r) => (d(r) ? `${mib(d(r)!.daemonRssIdleKiB)} / ${mib(d(r)!.daemonRssLoadedKiB)}` : '-')),
    row('helper processes (pause, conmon/shim)', (r) => String(d(r)?.helperProcesses ?? '-')),
    row('helpers PSS MiB', (r) => mib(d(r)?.helperPssKiB)),
    row('helpers PSS per pod MiB', (r) => (d(r)?.helperPssKiB === undefined ? '-' : mib(d(r)!.helperPssKiB! / d(r)!.pods))),
    row('extra PSS per pod MiB (target ≤ 2)', (r) => mib(d(r)?.extraPssPerPodKiB)),
    row('pods during List* timing', (r) => String(d(r)?.listPods ?? '-')),
  ];
  // Without the density section only the start-up rows have numbers.
  return formatTable(['density / memory', ...runs.map((r) => r.label)], rows.filter((cells) => cells.slice(1).some((c) => c !== '-')));
}
