/**
 * Kubelet-shaped polling against a node full of pods: `node dist/test/bench/kubelet-poll.js
 * [--pods 110] [--seconds 60] [--stats-period 10] [--endpoint unix:///sock] [--cpu-prof DIR]`.
 * Starts the bench's own berthd (unless --endpoint) and registry, runs `pods` pods with one
 * sleeping container each, times ContainerStatus on the idle node, then polls the way kubelet
 * does for `seconds`: ListPodSandbox + ListContainers every second (PLEG relist), two
 * PodSandboxStatus and two ContainerStatus per second, and ListPodSandboxStats +
 * ListContainerStats + ImageFsInfo together every `stats-period` seconds. Prints p50/p99 per RPC
 * and the daemon's CPU seconds over the polling phase. Every pod it made is removed again.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { createCriClient, type CriClient } from '../support/cri-client';
import { prepareBenchImages } from './bench-images';
import { startBenchBerthd, type BenchBerthd } from './berth-target';
import { benchContainerConfig, benchPodConfig, ensureImage } from './cri-sequence';
import { killPids, pidsInCgroupTree, removeCgroupTree } from './host-cleanup';
import { formatTable, fmtMs, quantile } from './stats';

interface PollArgs {
  pods: number;
  seconds: number;
  statsPeriodS: number;
  idleCalls: number;
  endpoint?: string;
  cpuProfDir?: string;
}

function parseArgs(argv: string[]): PollArgs {
  const out: PollArgs = { pods: 110, seconds: 60, statsPeriodS: 10, idleCalls: 300 };
  for (let i = 0; i < argv.length; i++) {
    const v = () => argv[++i] ?? '';
    switch (argv[i]) {
      case '--pods': out.pods = Number(v()); break;
      case '--seconds': out.seconds = Number(v()); break;
      case '--stats-period': out.statsPeriodS = Number(v()); break;
      case '--idle-calls': out.idleCalls = Number(v()); break;
      case '--endpoint': out.endpoint = v().replace(/^unix:\/\//, ''); break;
      case '--cpu-prof': out.cpuProfDir = path.resolve(v()); break;
      default: throw new Error(`unknown argument ${argv[i]}`);
    }
  }
  return out;
}

/** utime + stime of `pid` in seconds. */
function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

type Samples = Map<string, number[]>;

async function timed<T>(samples: Samples, rpc: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const r = await fn();
  const list = samples.get(rpc) ?? [];
  list.push(performance.now() - t0);
  samples.set(rpc, list);
  return r;
}

/** The polling phase; resolves after `seconds`. */
async function poll(client: CriClient, podIds: string[], ctrIds: string[], args: PollArgs, samples: Samples): Promise<void> {
  const end = Date.now() + args.seconds * 1000;
  const inflight = new Set<Promise<unknown>>();
  const fire = (p: Promise<unknown>) => {
    const q = p.catch((err: unknown) => process.stderr.write(`poll: ${String(err)}\n`)).finally(() => inflight.delete(q));
    inflight.add(q);
  };
  let tick = 0;
  let next = Date.now();
  // 500 ms ticks: every tick one PodSandboxStatus and one ContainerStatus; relist on even ticks; stats every period.
  while (Date.now() < end) {
    const i = tick;
    fire(timed(samples, 'PodSandboxStatus', () => client.podSandboxStatus({ podSandboxId: podIds[i % podIds.length] })));
    fire(timed(samples, 'ContainerStatus', () => client.containerStatus({ containerId: ctrIds[i % ctrIds.length] })));
    if (i % 2 === 0) {
      fire(timed(samples, 'ListPodSandbox', () => client.listPodSandbox({})));
      fire(timed(samples, 'ListContainers', () => client.listContainers({})));
    }
    if (i % (args.statsPeriodS * 2) === 1) {
      fire(timed(samples, 'ListPodSandboxStats', () => client.listPodSandboxStats({})));
      fire(timed(samples, 'ListContainerStats', () => client.listContainerStats({})));
      fire(timed(samples, 'ImageFsInfo', () => client.imageFsInfo({})));
    }
    tick++;
    next += 500;
    await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
  }
  await Promise.all(inflight);
}

async function main(argv: string[]): Promise<void> {
  const args = parseArgs(argv);
  const rand = randomBytes(2).toString('hex');
  const cgroupParent = `/berth-bench-${rand}`;
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-poll-logs-'));
  const images = await prepareBenchImages();
  let berthd: BenchBerthd | undefined;
  const saved = process.env.NODE_OPTIONS;
  try {
    if (!args.endpoint && args.cpuProfDir) {
      process.env.NODE_OPTIONS = `${saved ?? ''} --require ${path.join(__dirname, 'daemon-probe.js')}`.trim();
      process.env.BERTH_BENCH_PROBE_DIR = args.cpuProfDir;
    }
    berthd = args.endpoint ? undefined : await startBenchBerthd({ log: (l) => process.stderr.write(`${l}\n`) });
    if (saved === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = saved;
    const socket = args.endpoint ?? berthd!.daemon.socketPath;
    const pid = berthd?.daemon.pid;
    const client = createCriClient(socket);
    await ensureImage(client, images.container);
    const podIds: string[] = [];
    const ctrIds: string[] = [];
    const opts = { cgroupParent, logDirectory: logDir };
    const t0 = performance.now();
    for (let i = 0; i < args.pods; i++) {
      // A cgroup parent per pod, as kubelet gives (kubepods/…/pod<uid>)
      const config = benchPodConfig(`poll-${rand}-${i}`, { ...opts, cgroupParent: `${cgroupParent}/pod${i}` });
      const podId = (await client.runPodSandbox({ config })).podSandboxId!;
      podIds.push(podId);
      const c = await client.createContainer({ podSandboxId: podId, config: benchContainerConfig('sleep', images.container), sandboxConfig: config });
      ctrIds.push(c.containerId!);
      await client.startContainer({ containerId: c.containerId! });
    }
    process.stderr.write(`${args.pods} pods started in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    await new Promise((r) => setTimeout(r, 2000));
    const idle: Samples = new Map();
    // Daemon CPU (all threads, user + system) per call: steadier than latency on a loaded machine.
    const cpuPerCall: string[] = [];
    const cpuOf = async (label: string, calls: number, fn: () => Promise<void>) => {
      const c0 = pid ? cpuSeconds(pid) : NaN;
      await fn();
      const c1 = pid ? cpuSeconds(pid) : NaN;
      cpuPerCall.push(`${label}: ${(((c1 - c0) / calls) * 1000).toFixed(2)} ms CPU per call`);
    };
    await cpuOf('ContainerStatus', args.idleCalls, async () => {
      for (let i = 0; i < args.idleCalls; i++) await timed(idle, 'ContainerStatus (idle)', () => client.containerStatus({ containerId: ctrIds[i % ctrIds.length] }));
    });
    // 1.2 s apart: a runtime that keeps a collection for a second must collect anew each time
    const spaced = async (rpc: string, call: () => Promise<unknown>) => {
      for (let i = 0; i < 10; i++) {
        await timed(idle, rpc, call);
        await new Promise((r) => setTimeout(r, 1200));
      }
    };
    await cpuOf('ListPodSandboxStats (1.2 s apart, with the idle time between)', 10, () => spaced('ListPodSandboxStats (idle)', () => client.listPodSandboxStats({})));
    await cpuOf('ListContainerStats (1.2 s apart, with the idle time between)', 10, () => spaced('ListContainerStats (idle)', () => client.listContainerStats({})));
    await cpuOf('ListContainers', 100, async () => {
      for (let i = 0; i < 100; i++) await timed(idle, 'ListContainers (idle)', () => client.listContainers({}));
    });
    await cpuOf('PodSandboxStatus', 300, async () => {
      for (let i = 0; i < 300; i++) await timed(idle, 'PodSandboxStatus (idle)', () => client.podSandboxStatus({ podSandboxId: podIds[i % podIds.length] }));
    });
    const samples: Samples = new Map();
    const cpu0 = pid ? cpuSeconds(pid) : NaN;
    await poll(client, podIds, ctrIds, args, samples);
    const cpu1 = pid ? cpuSeconds(pid) : NaN;
    const rows = [...idle.entries(), ...samples.entries()].map(([rpc, ms]) => [rpc, String(ms.length), fmtMs(quantile(ms, 0.5)), fmtMs(quantile(ms, 0.99)), fmtMs(Math.max(...ms))]);
    console.log(formatTable(['rpc', 'n', 'p50 ms', 'p99 ms', 'max ms'], rows));
    for (const line of cpuPerCall) console.log(line);
    console.log(`daemon CPU over ${args.seconds} s of polling: ${(cpu1 - cpu0).toFixed(2)} s; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    client.close();
  } finally {
    await berthd?.cleanup();
    await killPids(pidsInCgroupTree(cgroupParent));
    removeCgroupTree(cgroupParent);
    await images.registry.stop();
    fs.rmSync(logDir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err) => {
    console.error(`kubelet-poll: ${err instanceof Error ? err.stack : String(err)}`);
    process.exitCode = 1;
  });
}
