/**
 * `npm run soak -- [--minutes N] [--interval-seconds S] [--max-slope-kib-per-min K]`: churns pods
 * and containers through a real berthd (its own root, registry and bridge) for N minutes (default
 * 5), samples berthd's RSS (and V8 heap used, from its /metrics) every S seconds (default: 5, or
 * less so at least 12 samples follow the warm-up), prints the series, and exits 1 when any rule of
 * soak-verdict.ts fails: a failed cycle, fewer than 6 RSS samples, RSS above twice its start, RSS
 * growing without bound over the second half of the run (judged when that half is 2 min or more;
 * the first half is V8 sizing its heap; rss-trend.ts), berthd holding more fds than after the first cycle, or anything left after the
 * run (listed pods, mounts, pins, cgroups in any v1/v2 hierarchy, pause/conmon processes). Needs
 * root, runc, conmon and the CNI plugins like the e2e tests, and a build (`npm run build`).
 */
import { judgeRss, readRssKib, type RssSample } from './rss-trend';
import { MIN_TREND_WINDOW_SECONDS, RSS_CEILING_FACTOR, soakFailures, soakSchedule } from './soak-verdict';
import { podConfig, RestartableBerthd, TEST_IMAGE, waitUntil } from '../e2e/reliability-support';

interface SoakArgs {
  minutes: number;
  intervalSeconds: number | undefined;
  maxSlopeKibPerMin: number;
}

/** Parses the flags (numbers only; unknown flags are an error). */
export function parseSoakArgs(argv: readonly string[]): SoakArgs {
  const out: SoakArgs = { minutes: 5, intervalSeconds: undefined, maxSlopeKibPerMin: 256 };
  const keys: Record<string, keyof SoakArgs> = { '--minutes': 'minutes', '--interval-seconds': 'intervalSeconds', '--max-slope-kib-per-min': 'maxSlopeKibPerMin' };
  for (let i = 0; i < argv.length; i += 2) {
    const key = keys[argv[i]];
    const value = Number(argv[i + 1]);
    if (!key || !(value > 0)) throw new Error(`usage: soak [--minutes N] [--interval-seconds S] [--max-slope-kib-per-min K] (bad: ${argv[i]} ${argv[i + 1] ?? ''})`);
    out[key] = value;
  }
  return out;
}

/** One churn cycle: pod, container, exec, stop, remove. */
async function cycle(b: RestartableBerthd, n: number): Promise<void> {
  const c = b.client();
  const pod = podConfig(b, `soak-${n}`);
  const podId = (await c.runPodSandbox({ config: pod })).podSandboxId!;
  const { containerId } = await c.createContainer({
    podSandboxId: podId,
    config: { metadata: { name: 'app', attempt: 0 }, image: { image: TEST_IMAGE }, command: ['sh', '-c', 'while true; do echo soak; sleep 0.5; done'], logPath: 'app.log' },
    sandboxConfig: pod,
  });
  await c.startContainer({ containerId: containerId! });
  await c.execSync({ containerId: containerId!, cmd: ['true'], timeout: 10 });
  await c.listContainers({});
  await c.containerStatus({ containerId: containerId!, verbose: true });
  await c.stopPodSandbox({ podSandboxId: podId });
  await c.removePodSandbox({ podSandboxId: podId });
}

async function main(): Promise<number> {
  const args = parseSoakArgs(process.argv.slice(2));
  const schedule = soakSchedule(args.minutes, args.intervalSeconds);
  const b = await RestartableBerthd.create('berth-soak');
  b.metrics = true;
  const samples: RssSample[] = [];
  const heap: RssSample[] = [];
  let cycles = 0;
  let failures = 0;
  let fdsBaseline: number | undefined;
  let fdsEnd: number | undefined;
  let listedPods = 0;
  let listedContainers = 0;
  let leaks: Record<string, string[]> = {};
  try {
    await b.start();
    await b.client().pullImage({ image: { image: TEST_IMAGE } });
    const started = Date.now();
    const end = started + args.minutes * 60_000;
    const sample = async () => {
      const t = Math.round((Date.now() - started) / 100) / 10;
      const rss = readRssKib(b.pid ?? 0);
      const heapKib = await readHeapUsedKib(b.metricsAddress);
      if (rss !== undefined) samples.push({ t, rssKib: rss });
      if (heapKib !== undefined) heap.push({ t, rssKib: heapKib });
      const heapText = heapKib === undefined ? '' : `  heapUsed=${(heapKib / 1024).toFixed(1).padStart(6)} MiB`;
      if (rss !== undefined) process.stdout.write(`t=${t.toFixed(0).padStart(5)} s  rss=${(rss / 1024).toFixed(1).padStart(7)} MiB${heapText}  fds=${b.openFds() ?? '?'}  cycles=${cycles}\n`);
    };
    await sample();
    const timer = setInterval(() => void sample(), schedule.intervalSeconds * 1000);
    try {
      while (Date.now() < end) {
        await cycle(b, cycles).catch((err: unknown) => {
          failures++;
          process.stderr.write(`cycle ${cycles} failed: ${String(err)}\n`);
        });
        cycles++;
        // After one full cycle every lazily opened fd (CNI, conmon sockets dir, ...) exists.
        if (cycles === 1) fdsBaseline = b.openFds();
      }
    } finally {
      clearInterval(timer);
    }
    await sample();
    // Each cycle removed what it made: nothing is listed, nothing is left, fds are back.
    const c = b.client();
    listedPods = ((await c.listPodSandbox({})).items ?? []).length;
    listedContainers = ((await c.listContainers({})).containers ?? []).length;
    await waitUntil(() => (b.openFds() ?? Infinity) <= (fdsBaseline ?? 0), 5_000, 'fds back to baseline').catch(() => undefined);
    fdsEnd = b.openFds();
    leaks = b.leaksWithCgroups();
  } finally {
    await b.destroy();
  }
  const verdict = judgeRss(samples, { warmupSeconds: schedule.warmupSeconds, maxSlopeKibPerMin: args.maxSlopeKibPerMin, minGrowthKib: 4096 });
  const heapVerdict = judgeRss(heap, { warmupSeconds: schedule.warmupSeconds, maxSlopeKibPerMin: args.maxSlopeKibPerMin, minGrowthKib: 4096 });
  if (heap.length > 0) process.stdout.write(`soak: heap used after warm-up: slope ${heapVerdict.slopeKibPerMin} KiB/min, ${(heapVerdict.firstThirdMeanKib / 1024).toFixed(1)} → ${(heapVerdict.lastThirdMeanKib / 1024).toFixed(1)} MiB\n`);
  process.stdout.write(
    `soak: ${cycles} cycles (${failures} failed) in ${args.minutes} min; ${verdict.samplesUsed} RSS samples every ${schedule.intervalSeconds} s after ${schedule.warmupSeconds} s warm-up: slope ${verdict.slopeKibPerMin} KiB/min ` +
      `(limit ${args.maxSlopeKibPerMin}), first third ${(verdict.firstThirdMeanKib / 1024).toFixed(1)} MiB, last third ${(verdict.lastThirdMeanKib / 1024).toFixed(1)} MiB; ` +
      `berthd fds ${fdsBaseline ?? '?'} after the first cycle, ${fdsEnd ?? '?'} at the end; ${listedPods} pods / ${listedContainers} containers listed; ` +
      `${Object.values(leaks).flat().length} leaked objects\n`,
  );
  const trendWindowSeconds = args.minutes * 60 - schedule.warmupSeconds;
  if (trendWindowSeconds < MIN_TREND_WINDOW_SECONDS) {
    process.stdout.write(`soak: RSS trend NOT JUDGED (window ${trendWindowSeconds} s < ${MIN_TREND_WINDOW_SECONDS} s, shorter than a GC period): only the ${RSS_CEILING_FACTOR}x ceiling applies; run --minutes 5 to judge it\n`);
  }
  const failed = soakFailures({ cycles, failedCycles: failures, rss: verdict, trendWindowSeconds, rssKib: samples.map((x) => x.rssKib), fdsBaseline, fdsEnd, listedPods, listedContainers, leaks });
  for (const f of failed) process.stdout.write(`soak: FAIL: ${f}\n`);
  const rssText = trendWindowSeconds < MIN_TREND_WINDOW_SECONDS ? `RSS under ${RSS_CEILING_FACTOR}x its start, trend not judged` : 'RSS bounded';
  process.stdout.write(failed.length === 0 ? `soak: PASS (no failed cycle, ${rssText}, fds back, nothing leaked)\n` : `soak: FAIL (${failed.length} rules)\n`);
  return failed.length === 0 ? 0 : 1;
}

/** berthd's `berth_nodejs_heap_size_used_bytes` in KiB, from its /metrics (undefined when unavailable). */
async function readHeapUsedKib(address: string | undefined): Promise<number | undefined> {
  if (!address) return undefined;
  try {
    const text = await (await fetch(`http://${address}/metrics`)).text();
    const m = /^berth_nodejs_heap_size_used_bytes (\d+(?:\.\d+)?)$/m.exec(text);
    return m ? Math.round(Number(m[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`soak: ${String(err)}\n`);
      process.exit(1);
    },
  );
}
