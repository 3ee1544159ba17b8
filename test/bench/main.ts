/**
 * `npm run bench`: starts a berthd with temp dirs (or uses `--endpoint <socket>`) and runs the
 * bench sections, printing one table per section. A section is one file under test/bench/
 * exporting a bench function and a formatter; add it to SECTIONS below.
 *
 * Usage: node dist/test/bench/main.js [--endpoint /run/berth/berth.sock] [-n 1000]
 *                                     [--starts 10] [--sections rpc-latency,daemon-startup]
 */
import { createCriClient, type CriClient } from '../support/cri-client';
import { startBerthd, type BerthdInstance } from '../e2e/support/berthd';
import { benchDaemonStartup, formatDaemonStartup, processMemory } from './daemon-startup';
import { benchRpcLatency, formatRpcLatency } from './rpc-latency';

/** What every section receives. */
export interface BenchContext {
  client: CriClient;
  socketPath: string;
  /** pid of the berthd the bench started (undefined with --endpoint). */
  daemonPid: number | undefined;
  calls: number;
  starts: number;
}

/** One bench section. */
export interface BenchSection {
  name: string;
  /** Whether it needs a daemon the bench started itself (it spawns or inspects the process). */
  ownDaemonOnly?: boolean;
  run(ctx: BenchContext): Promise<string>;
}

/**
 * The sections, in order. INTEGRATION POINT: pod-lifecycle.ts, containers.ts and image-pull.ts
 * (written by the pod, runtime and image engineers) join here once berthd serves their RPCs.
 */
export const SECTIONS: BenchSection[] = [
  { name: 'rpc-latency', run: async (ctx) => formatRpcLatency(await benchRpcLatency(ctx.client, { calls: ctx.calls })) },
  {
    name: 'memory-after-rpcs',
    ownDaemonOnly: true,
    run: async (ctx) => {
      const m = processMemory(ctx.daemonPid!);
      return `berthd after the RPC section: RSS ${(m.rssKiB / 1024).toFixed(1)} MiB, PSS ${m.pssKiB === undefined ? '-' : (m.pssKiB / 1024).toFixed(1)} MiB`;
    },
  },
  { name: 'daemon-startup', ownDaemonOnly: true, run: async (ctx) => formatDaemonStartup(await benchDaemonStartup({ starts: ctx.starts })) },
];

interface BenchArgs {
  endpoint?: string;
  calls: number;
  starts: number;
  sections?: string[];
}

function parseBenchArgs(argv: string[]): BenchArgs {
  const out: BenchArgs = { calls: 1000, starts: 10 };
  for (let i = 0; i < argv.length; i++) {
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${argv[i]} needs a value`);
      return argv[++i];
    };
    switch (argv[i]) {
      case '--endpoint': out.endpoint = next().replace(/^unix:\/\//, ''); break;
      case '-n': out.calls = Number(next()); break;
      case '--starts': out.starts = Number(next()); break;
      case '--sections': out.sections = next().split(','); break;
      default: throw new Error(`unknown argument ${argv[i]}`);
    }
  }
  return out;
}

/** Runs the bench and prints the tables. */
export async function main(argv: string[]): Promise<void> {
  const args = parseBenchArgs(argv);
  let daemon: BerthdInstance | undefined;
  let client: CriClient | undefined;
  try {
    if (!args.endpoint) daemon = await startBerthd({ name: 'berth-bench' });
    const socketPath = args.endpoint ?? daemon!.socketPath;
    client = createCriClient(socketPath);
    const ctx: BenchContext = { client, socketPath, daemonPid: daemon?.pid, calls: args.calls, starts: args.starts };
    console.log(`berth bench — ${new Date().toISOString()} — node ${process.version} — ${args.endpoint ? `endpoint ${socketPath}` : 'own berthd with temp dirs'}`);
    for (const section of SECTIONS) {
      if (args.sections && !args.sections.includes(section.name)) continue;
      if (section.ownDaemonOnly && !daemon) {
        console.log(`\n## ${section.name}: skipped (needs the bench's own berthd; drop --endpoint)`);
        continue;
      }
      console.log(`\n## ${section.name}\n`);
      console.log(await section.run(ctx));
    }
  } finally {
    client?.close();
    await daemon?.cleanup();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err) => {
    console.error(`bench: ${err instanceof Error ? err.stack : String(err)}`);
    process.exitCode = 1;
  });
}
