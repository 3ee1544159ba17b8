/**
 * Bench section: streaming. Exec round trip (URL → SPDY upgrade → streams → command → Status;
 * median and p90 of 20) and port-forward throughput (MB/s of a 100 MB download through one
 * forwarded connection). By default it runs an in-process streaming server with the reference
 * backends (local processes, loopback TCP); pass `target` to measure URLs from a real berthd
 * (e.g. minted by the CRI Exec/PortForward RPCs). Running this file alone prints the section.
 */
import { startBulkSource, startLocalStreamingServer } from '../../cri/testing/streaming-fixtures';
import { spdyRemoteCommand, SpdyPortForwardClient } from '../support/spdy-client';

/** Where the URLs come from. */
export interface StreamingBenchTarget {
  /** 'in-process reference backends', 'berthd', …: reported with the numbers. */
  readonly via: string;
  /** A fresh exec URL for a command that prints one line and exits 0. */
  execUrl(): Promise<string>;
  /** A fresh port-forward URL for a pod in which `port` serves `bytes` bytes per connection. */
  portForwardUrl(): Promise<string>;
  /** The pod port that streams `bytes` bytes. */
  readonly bulkPort: number;
  close?(): Promise<void>;
}

export interface StreamingBenchResult {
  section: 'streaming';
  via: string;
  execRoundTrip: { runs: number; medianMs: number; p90Ms: number };
  portForward: { megabytes: number; seconds: number; mbPerSecond: number };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** An in-process server with the reference backends and a local bulk source. */
export async function localStreamingTarget(bytes: number): Promise<StreamingBenchTarget> {
  const f = await startLocalStreamingServer();
  const source = await startBulkSource(bytes);
  return {
    via: 'in-process server, reference backends (host processes, loopback TCP)',
    bulkPort: source.port,
    execUrl: async () => f.server.getExecUrl({ containerId: 'bench', cmd: ['/bin/echo', 'hi'], tty: false, stdin: false, stdout: true, stderr: true }),
    portForwardUrl: async () => f.server.getPortForwardUrl({ podSandboxId: 'bench', ports: [] }),
    close: async () => {
      await source.close();
      await f.server.close();
    },
  };
}

/** Measures exec round trips and one port-forward download. */
export async function benchStreaming(opts: { target?: StreamingBenchTarget; runs?: number; megabytes?: number } = {}): Promise<StreamingBenchResult> {
  const runs = opts.runs ?? 20;
  const megabytes = opts.megabytes ?? 100;
  const bytes = megabytes * 1024 * 1024;
  const target = opts.target ?? (await localStreamingTarget(bytes));
  try {
    const times: number[] = [];
    for (let i = 0; i < runs + 1; i++) {
      const started = process.hrtime.bigint();
      const rc = await spdyRemoteCommand(await target.execUrl(), { stderr: true });
      const [out, status] = await Promise.all([rc.stdout, rc.error]);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (out.toString() !== 'hi\n' || JSON.parse(status).status !== 'Success') {
        throw new Error(`bench exec returned ${JSON.stringify(out.toString())} / ${status}`);
      }
      if (i > 0) times.push(ms); // the first run warms up code paths
    }
    times.sort((a, b) => a - b);

    const client = await SpdyPortForwardClient.connect(await target.portForwardUrl());
    try {
      const conn = await client.open(target.bulkPort);
      const started = process.hrtime.bigint();
      let received = 0;
      await new Promise<void>((resolve, reject) => {
        conn.data.on('data', (c: Buffer) => (received += c.length));
        conn.data.on('end', resolve);
        conn.data.on('error', reject);
      });
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (received !== bytes) throw new Error(`bench port-forward received ${received} of ${bytes} bytes: ${await conn.error}`);
      return {
        section: 'streaming',
        via: target.via,
        execRoundTrip: { runs, medianMs: percentile(times, 50), p90Ms: percentile(times, 90) },
        portForward: { megabytes, seconds, mbPerSecond: megabytes / seconds },
      };
    } finally {
      client.session.destroy();
    }
  } finally {
    await target.close?.();
  }
}

/** Human-readable lines for the bench report. */
export function formatStreaming(r: StreamingBenchResult): string {
  return [
    `streaming (${r.via})`,
    `  exec round trip (SPDY, ${r.execRoundTrip.runs} runs): median ${r.execRoundTrip.medianMs.toFixed(1)} ms, p90 ${r.execRoundTrip.p90Ms.toFixed(1)} ms`,
    `  port-forward ${r.portForward.megabytes} MB download: ${r.portForward.mbPerSecond.toFixed(1)} MB/s (${r.portForward.seconds.toFixed(2)} s)`,
  ].join('\n');
}

async function main(): Promise<void> {
  const result = await benchStreaming();
  console.log(formatStreaming(result));
  if (process.env.BENCH_JSON) console.log(JSON.stringify(result));
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
