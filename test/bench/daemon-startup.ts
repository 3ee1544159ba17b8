/**
 * Bench section: berthd start-up (spawn → "berthd ready" log line, and spawn → first answered
 * Version) over several starts, and the idle memory of a started daemon (RSS and PSS from /proc).
 */
import { kibField, readProcStatusSync } from '../../common/proc-stat';
import { startBerthd } from '../e2e/support/berthd';
import { fmtMs, formatTable, quantile } from './stats';

/** Memory of one process in KiB, from /proc. */
export interface ProcessMemory {
  rssKiB: number;
  /** Proportional set size (shared pages split among sharers); undefined when smaps_rollup is missing. */
  pssKiB: number | undefined;
  /**
   * The anonymous part of it (heap, stacks, malloc): the process's own memory. The rest of PSS is
   * file pages (the executable, libraries), split with every process that maps the same file.
   */
  pssAnonKiB: number | undefined;
}

/** Result of the section. */
export interface DaemonStartupResult {
  section: 'daemon-startup';
  starts: number;
  readyLineMs: { median: number; p90: number; min: number };
  firstVersionMs: { median: number; p90: number; min: number };
  /** The daemon's own readyMs (its process uptime when it logged ready), median. */
  selfReportedReadyMs: number;
  idle: ProcessMemory;
}

/** Reads VmRSS and Pss of `pid`. */
export function processMemory(pid: number): ProcessMemory {
  const status = readProcStatusSync(pid);
  if (!status) throw new Error(`read /proc/${pid}/status: process gone`);
  const rollup = readProcStatusSync(pid, 'smaps_rollup');
  return { rssKiB: kibField(status, 'VmRSS') ?? NaN, pssKiB: rollup && kibField(rollup, 'Pss'), pssAnonKiB: rollup && kibField(rollup, 'Pss_Anon') };
}

/** Starts berthd `starts` times (sequentially) and measures; memory after `idleMs` of the last. */
export async function benchDaemonStartup(opts: { starts?: number; idleMs?: number } = {}): Promise<DaemonStartupResult> {
  const starts = opts.starts ?? 10;
  const ready: number[] = [];
  const firstVersion: number[] = [];
  const selfReported: number[] = [];
  let idle: ProcessMemory = { rssKiB: NaN, pssKiB: undefined, pssAnonKiB: undefined };
  for (let i = 0; i < starts; i++) {
    const t0 = Date.now();
    const d = await startBerthd({ name: 'berth-bench' });
    try {
      ready.push(d.spawnToReadyMs);
      selfReported.push(Number(d.readyRecord.readyMs));
      await d.client().version({});
      firstVersion.push(Date.now() - t0);
      if (i === starts - 1) {
        await new Promise((r) => setTimeout(r, opts.idleMs ?? 2000));
        idle = processMemory(d.pid);
      }
      await d.stop();
    } finally {
      await d.cleanup();
    }
  }
  const stats = (v: number[]) => ({ median: quantile(v, 0.5), p90: quantile(v, 0.9), min: Math.min(...v) });
  return { section: 'daemon-startup', starts, readyLineMs: stats(ready), firstVersionMs: stats(firstVersion), selfReportedReadyMs: quantile(selfReported, 0.5), idle };
}

/** The section as a table. */
export function formatDaemonStartup(r: DaemonStartupResult): string {
  const mib = (kib: number | undefined) => (kib === undefined || !Number.isFinite(kib) ? '-' : (kib / 1024).toFixed(1));
  return [
    formatTable(
      ['measure', `median (n=${r.starts})`, 'p90', 'min'],
      [
        ['spawn → "berthd ready" ms', fmtMs(r.readyLineMs.median), fmtMs(r.readyLineMs.p90), fmtMs(r.readyLineMs.min)],
        ['spawn → first Version OK ms', fmtMs(r.firstVersionMs.median), fmtMs(r.firstVersionMs.p90), fmtMs(r.firstVersionMs.min)],
        ['berthd uptime at ready ms', fmtMs(r.selfReportedReadyMs), '', ''],
      ],
    ),
    '',
    formatTable(['idle memory', 'MiB'], [['RSS', mib(r.idle.rssKiB)], ['PSS', mib(r.idle.pssKiB)]]),
  ].join('\n');
}
