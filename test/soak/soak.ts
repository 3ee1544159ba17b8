/**
 * `npm run soak -- [--minutes N] [--interval-seconds S] [--max-slope-kib-per-min K]`: churns pods
 * and containers through a real berthd (its own root, registry and bridge) for N minutes (default
 * 5), samples berthd's RSS every S seconds (default 5), prints the series and fails (exit 1) when
 * RSS grows without bound after the warm-up (rss-trend.ts). Needs root, runc, conmon and the CNI
 * plugins like the e2e tests; not part of CI.
 */
import { judgeRss, readRssKib, type RssSample } from './rss-trend';
import { podConfig, RestartableBerthd, TEST_IMAGE } from '../e2e/reliability-support';

interface SoakArgs {
  minutes: number;
  intervalSeconds: number;
  maxSlopeKibPerMin: number;
}

/** Parses the flags (numbers only; unknown flags are an error). */
export function parseSoakArgs(argv: readonly string[]): SoakArgs {
  const out: SoakArgs = { minutes: 5, intervalSeconds: 5, maxSlopeKibPerMin: 256 };
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
  const b = await RestartableBerthd.create('berth-soak');
  const samples: RssSample[] = [];
  let cycles = 0;
  let failures = 0;
  try {
    await b.start();
    await b.client().pullImage({ image: { image: TEST_IMAGE } });
    const started = Date.now();
    const end = started + args.minutes * 60_000;
    const sample = () => {
      const rss = readRssKib(b.pid ?? 0);
      if (rss !== undefined) samples.push({ t: Math.round((Date.now() - started) / 100) / 10, rssKib: rss });
      const s = samples.at(-1);
      if (s) process.stdout.write(`t=${s.t.toFixed(0).padStart(5)} s  rss=${(s.rssKib / 1024).toFixed(1).padStart(7)} MiB  cycles=${cycles}\n`);
    };
    sample();
    const timer = setInterval(sample, args.intervalSeconds * 1000);
    try {
      while (Date.now() < end) {
        await cycle(b, cycles).catch((err: unknown) => {
          failures++;
          process.stderr.write(`cycle ${cycles} failed: ${String(err)}\n`);
        });
        cycles++;
      }
    } finally {
      clearInterval(timer);
    }
    sample();
  } finally {
    await b.destroy();
  }
  const warmupSeconds = Math.min(60, (args.minutes * 60) / 5);
  const verdict = judgeRss(samples, { warmupSeconds, maxSlopeKibPerMin: args.maxSlopeKibPerMin, minGrowthKib: 4096 });
  process.stdout.write(
    `soak: ${cycles} cycles (${failures} failed) in ${args.minutes} min; after ${warmupSeconds} s warm-up: slope ${verdict.slopeKibPerMin} KiB/min ` +
      `(limit ${args.maxSlopeKibPerMin}), first third ${(verdict.firstThirdMeanKib / 1024).toFixed(1)} MiB, last third ${(verdict.lastThirdMeanKib / 1024).toFixed(1)} MiB → ` +
      `${verdict.unbounded ? 'GROWS WITHOUT BOUND' : 'bounded'}\n`,
  );
  return verdict.unbounded || failures > cycles / 10 ? 1 : 0;
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
