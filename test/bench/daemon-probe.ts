/**
 * Preloaded into the bench's berthd (`NODE_OPTIONS=--require …/daemon-probe.js`, because Node
 * refuses --cpu-prof in NODE_OPTIONS) when `--cpu-prof DIR` is given: records a V8 CPU profile
 * and the event-loop delay histogram for the daemon's whole life, and writes
 * `berthd-<pid>.cpuprofile` (open it in Chrome DevTools) and `berthd-<pid>.loop-delay.json` into
 * $BERTH_BENCH_PROBE_DIR when the process exits.
 */
import * as fs from 'node:fs';
import { Session } from 'node:inspector';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';

/** Event-loop delay summary in milliseconds. */
export interface LoopDelaySummary {
  samples: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  /** process.memoryUsage() at exit, MiB (where the RSS goes: V8 heap, external, array buffers). */
  memoryMiB: Record<string, number>;
}

function install(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const session = new Session();
  session.connect();
  session.post('Profiler.enable', () => session.post('Profiler.setSamplingInterval', { interval: 200 }, () => session.post('Profiler.start')));
  let written = false;
  process.on('exit', () => {
    if (written) return;
    written = true;
    delay.disable();
    const ms = (ns: number) => Math.round(ns / 1e4) / 100;
    const summary: LoopDelaySummary = {
      samples: delay.count,
      meanMs: ms(delay.mean),
      p50Ms: ms(delay.percentile(50)),
      p90Ms: ms(delay.percentile(90)),
      p99Ms: ms(delay.percentile(99)),
      maxMs: ms(delay.max),
      memoryMiB: Object.fromEntries(Object.entries(process.memoryUsage()).map(([k, v]) => [k, Math.round(v / 10485.76) / 100])),
    };
    fs.writeFileSync(path.join(dir, `berthd-${process.pid}.loop-delay.json`), JSON.stringify(summary));
    // The in-process inspector session answers synchronously, so this completes inside 'exit'.
    session.post('Profiler.stop', (err, result) => {
      if (!err && result) fs.writeFileSync(path.join(dir, `berthd-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}

const dir = process.env.BERTH_BENCH_PROBE_DIR;
if (dir) install(dir);
