/**
 * `npm run bench`: drives CRI runtimes over their sockets with the same sequence and prints median
 * and p90 per operation. By default it starts its own berthd (temp dirs, own bridge and subnet)
 * and a local registry holding images it builds itself; `--endpoint unix:///path` benches another
 * runtime instead; `--vs containerd` also starts Debian's containerd, isolated, and prints both
 * columns with the ratio. Every run writes a self-contained HTML report and prints its path.
 * Everything started is removed at the end, also on failure and on Ctrl-C. See bench-args.ts for
 * the options and docs/benchmarks.md for measured numbers.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createCriClient } from '../support/cri-client';
import { parseBenchArgs, POD_SECTIONS, type BenchArgs } from './bench-args';
import { prepareBenchImages, type BenchImages } from './bench-images';
import { startBenchBerthd } from './berth-target';
import { startContainerd, ensureContainerdInstalled } from './containerd/containerd-harness';
import { benchTargets, type Target } from './run-targets';
import { benchDaemonStartup, formatDaemonStartup } from './daemon-startup';
import type { LoopDelaySummary } from './daemon-probe';
import { benchImagePull } from './image-pull';
import { createCgroupParent, killPids, pidsInCgroupTree, removeCgroupTree } from './host-cleanup';
import { renderHtmlReport } from './html-report';
import { formatKubeletCostTable, formatKubeletRpcTable, formatParallelStartTable, kubeletHeading, parallelStartHeading } from './kubelet-report';
import { formatDensityTable, formatLatencyTable, reportOps, type BenchReport } from './report-model';
import { benchStreaming, formatStreaming } from './streaming';
import { runUsernsStartSection } from './userns-start';

const progress = (line: string): void => void process.stderr.write(`${line}\n`);

/** Set on SIGINT/SIGTERM: the calls in flight then fail as their runtime goes away, which is no news. */
let interrupted = false;

/** LIFO cleanups that run once, also from a signal handler. */
class Cleanups {
  private readonly fns: Array<() => Promise<void>> = [];
  push(fn: () => Promise<void>): void {
    this.fns.push(fn);
  }
  private running: Promise<void> | undefined;
  /** Runs them newest first; a second caller (signal handler and finally) joins the same run. */
  runAll(): Promise<void> {
    this.running ??= (async () => {
      while (this.fns.length > 0) {
        const fn = this.fns.pop()!;
        await fn().catch((err) => progress(`cleanup: ${err instanceof Error ? err.message : String(err)}`));
      }
    })();
    return this.running;
  }
}

function loadavg(): string {
  return os.loadavg().map((x) => x.toFixed(2)).join(' ');
}

/** Starts the bench's own berthd (with the CPU profile / loop delay probe preloaded when asked). */
async function berthTarget(args: BenchArgs): Promise<Target> {
  const saved = { NODE_OPTIONS: process.env.NODE_OPTIONS, BERTH_BENCH_PROBE_DIR: process.env.BERTH_BENCH_PROBE_DIR };
  if (args.cpuProfDir) {
    process.env.NODE_OPTIONS = `${saved.NODE_OPTIONS ?? ''} --require ${path.join(__dirname, 'daemon-probe.js')}`.trim();
    process.env.BERTH_BENCH_PROBE_DIR = path.resolve(args.cpuProfDir);
  }
  try {
    const b = await startBenchBerthd({ log: progress });
    const d = b.daemon;
    return { label: 'berth', socketPath: d.socketPath, daemonPid: d.pid, readyMs: d.spawnToReadyMs, metricsAddress: d.metricsAddress, cleanup: () => b.cleanup() };
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** Starts the isolated containerd. */
async function containerdTarget(rand: string, images: BenchImages): Promise<Target> {
  await ensureContainerdInstalled(progress);
  const c = await startContainerd({
    registryHost: images.registry.host,
    sandboxImage: images.pause,
    bridge: `bbc${rand}`,
    // Outside berth's default 10.89.0.0/16 and the 10.200–250.x.0/24 of test daemons running meanwhile.
    subnet: `10.252.${parseInt(rand, 16) % 256}.0/24`,
    log: progress,
  });
  return { label: 'containerd', socketPath: c.socketPath, daemonPid: c.pid, readyMs: c.spawnToReadyMs, prePull: [images.pause], cleanup: () => c.cleanup() };
}

/** Runs the bench and prints the tables. */
export async function main(argv: string[]): Promise<void> {
  const args = parseBenchArgs(argv);
  const cleanups = new Cleanups();
  const rand = randomBytes(2).toString('hex');
  const cgroupParent = `/berth-bench-${rand}`;
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-logs-'));
  cleanups.push(async () => fs.rmSync(logDir, { recursive: true, force: true }));
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    progress(`bench: ${signal}, cleaning up`);
    void cleanups.runAll().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const startedAt = new Date().toISOString();
  const loadBefore = loadavg();
  const report: BenchReport = { startedAt, conditions: '', runs: [] };
  const texts: string[] = [];
  try {
    const images = args.sections.some((s) => POD_SECTIONS.includes(s)) ? await prepareBenchImages() : undefined;
    if (images) {
      cleanups.push(() => images.registry.stop());
      progress(`bench registry on ${images.registry.host} (plain HTTP): ${images.container}, ${images.pull}, ${images.pause}`);
    }
    const starters: Array<() => Promise<Target>> = [];
    const perRuntime = args.sections.some((s) => s === 'rpc-latency' || POD_SECTIONS.includes(s));
    if (!perRuntime) {
      // only daemon-less sections (and daemon-startup, which starts its own berthds)
    } else if (args.endpoint) {
      const socketPath = args.endpoint;
      starters.push(async () => ({ label: await runtimeName(socketPath), socketPath, cleanup: async () => undefined }));
    } else {
      starters.push(() => berthTarget(args));
      if (args.vs === 'containerd') {
        if (!images) throw new Error(`--vs containerd needs a section that starts pods (${POD_SECTIONS.join(', ')}): the pause image`);
        starters.push(() => containerdTarget(rand, images));
      }
    }
    const targets: Target[] = [];
    const cleaned = new Set<Target>();
    const cleanupTarget = async (target: Target) => {
      if (cleaned.has(target)) return;
      cleaned.add(target);
      progress(`${target.label}: cleaning up`);
      await target.cleanup();
      if (args.cpuProfDir && target.label === 'berth' && target.daemonPid !== undefined) texts.push(probeSummary(args.cpuProfDir, target.daemonPid));
    };
    // Pods of any runtime share the bench cgroup parent: whatever survives its runtime dies here.
    cleanups.push(async () => {
      await killPids(pidsInCgroupTree(cgroupParent));
      removeCgroupTree(cgroupParent);
    });
    // Kubelet creates the pods' parent cgroup before any RunPodSandbox; pods started in parallel rely on it.
    createCgroupParent(cgroupParent);
    try {
      for (const start of starters) {
        const target = await start();
        targets.push(target);
        cleanups.push(() => cleanupTarget(target));
        await new Promise((r) => setTimeout(r, 1000)); // settle before its "after start" PSS
      }
      report.runs.push(...(await benchTargets(targets, args, images, { cgroupParent, logDir, rand }, progress)));
    } finally {
      // Runtimes go before the later sections; cleanups.runAll() skips what already ran.
      for (const target of targets.reverse()) await cleanupTarget(target);
    }
    if (!args.endpoint && args.sections.includes('daemon-startup')) {
      progress(`berthd start-up (${args.starts} starts)`);
      texts.push(`## berthd start-up\n\n${formatDaemonStartup(await benchDaemonStartup({ starts: args.starts }))}`);
    }
    if (args.sections.includes('image-throughput')) {
      progress('image throughput (berth image layer directly, 50 MB image vs skopeo copy)');
      const r = await benchImagePull({ log: progress });
      texts.push(
        `## image throughput (image layer, no daemon)\n\nbusybox pull median ${r.busyboxMedianMs} ms; ${(r.bigBytes / 1e6).toFixed(1)} MB image: berth ${r.bigMedianMs} ms = ${r.bigMBps} MB/s (pull + unpack), skopeo copy ${r.skopeoMedianMs} ms = ${r.skopeoMBps} MB/s (download only)`,
      );
    }
    if (args.sections.includes('userns-start')) {
      progress('user namespace cost (pod + container starts with and without hostUsers: false)');
      texts.push(`## user namespaces\n\n${await runUsernsStartSection(10)}`);
    }
    if (args.sections.includes('streaming')) {
      progress('streaming (in-process server, reference backends)');
      texts.push(`## streaming\n\n${formatStreaming(await benchStreaming())}`);
    }
    report.conditions = `node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), kernel ${os.release()}; load average before ${loadBefore}, after ${loadavg()}${report.runs.length > 1 ? `; CRI sequence interleaved step by step between the runtimes (${args.settleMs} ms idle after each step)${args.sections.includes('density') ? ', density one runtime after the other' : ''}` : ''}`;
    printReport(report, texts, args);
  } finally {
    await cleanups.runAll();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Where the daemon probe wrote its files, and the event-loop delay it saw. */
function probeSummary(dir: string, pid: number): string {
  const base = path.join(path.resolve(dir), `berthd-${pid}`);
  try {
    const d = JSON.parse(fs.readFileSync(`${base}.loop-delay.json`, 'utf8')) as LoopDelaySummary;
    const mem = Object.entries(d.memoryMiB ?? {}).map(([k, v]) => `${k} ${v}`).join(', ');
    return `## berthd event-loop delay over the run (ms)\n\nmean ${d.meanMs}  p50 ${d.p50Ms}  p90 ${d.p90Ms}  p99 ${d.p99Ms}  max ${d.maxMs}\nmemory at exit (MiB): ${mem}\nCPU profile: ${base}.cpuprofile`;
  } catch (err) {
    return `## berthd probe: no output in ${dir} (${err instanceof Error ? err.message : String(err)})`;
  }
}

/** The runtime name a socket reports (label of an --endpoint target). */
async function runtimeName(socketPath: string): Promise<string> {
  const c = createCriClient(socketPath);
  try {
    return (await c.version({ version: 'v1' }, { timeoutMs: 5000 })).runtimeName ?? 'endpoint';
  } finally {
    c.close();
  }
}

function printReport(report: BenchReport, texts: string[], args: BenchArgs): void {
  console.log(`berth bench — ${report.startedAt}`);
  for (const r of report.runs) console.log(`  ${r.label}: ${r.version}`);
  console.log(`  ${report.conditions}`);
  if (report.runs.length > 0) {
    if (reportOps(report).length > 0) {
      console.log(`\n## latency (ms; ${args.pods} pods, ${args.containers} containers, ${args.pulls} pulls, ${args.scratch} pod+container from scratch)\n`);
      console.log(formatLatencyTable(report));
    }
    if (report.runs.some((r) => r.density || r.readyMs !== undefined)) {
      console.log('\n## density and memory\n');
      console.log(formatDensityTable(report));
    }
  }
  const par = report.runs.find((r) => r.parallelStart)?.parallelStart;
  if (par) console.log(`\n## ${parallelStartHeading(par)}\n\n${formatParallelStartTable(report.runs)}`);
  const kub = report.runs.find((r) => r.kubelet)?.kubelet;
  if (kub) console.log(`\n## ${kubeletHeading(kub)}\n\n${formatKubeletRpcTable(report.runs)}\n\n${formatKubeletCostTable(report.runs)}`);
  for (const r of report.runs) for (const note of r.notes ?? []) console.log(`\n${r.label}: ${note}`);
  for (const t of texts) console.log(`\n${t}`);
  if (report.runs.length > 0) {
    const html = args.html ?? path.join(os.tmpdir(), `berth-bench-${report.startedAt.replace(/[:.]/g, '-')}.html`);
    fs.writeFileSync(html, renderHtmlReport(report));
    console.log(`\nHTML report: ${html}`);
  }
  if (args.json) fs.writeFileSync(args.json, JSON.stringify(report));
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err) => {
    if (interrupted) return;
    console.error(`bench: ${err instanceof Error ? err.stack : String(err)}`);
    process.exitCode = 1;
  });
}
