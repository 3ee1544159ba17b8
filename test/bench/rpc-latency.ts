/**
 * Bench section: unary RPC round-trip latency over the CRI socket, N sequential calls after a
 * warm-up. Calls that answer with an error (e.g. UNIMPLEMENTED while a layer is not wired) are
 * still measured and labelled with their status code.
 */
import { isServiceError, type CriClient } from '../support/cri-client';
import { fmtMs, formatTable, summarize } from './stats';

/** One measured RPC. */
export interface RpcLatencyRow {
  rpc: string;
  calls: number;
  /** gRPC status code names seen, e.g. { OK: 1000 }. */
  codes: Record<string, number>;
  medianMs: number;
  p90Ms: number;
  /** Every measured call (ms), for distribution charts. */
  samples: number[];
}

/** Result of the section. */
export interface RpcLatencyResult {
  section: 'rpc-latency';
  rows: RpcLatencyRow[];
}

const CODE_NAMES: Record<number, string> = { 0: 'OK', 2: 'UNKNOWN', 3: 'INVALID_ARGUMENT', 4: 'DEADLINE_EXCEEDED', 5: 'NOT_FOUND', 9: 'FAILED_PRECONDITION', 12: 'UNIMPLEMENTED', 13: 'INTERNAL', 14: 'UNAVAILABLE' };

/** The RPCs measured: cheap ones kubelet calls all the time. */
const RPCS: Array<{ rpc: string; call: (c: CriClient) => Promise<unknown> }> = [
  { rpc: 'Version', call: (c) => c.version({ version: 'v1' }) },
  { rpc: 'Status', call: (c) => c.status({}) },
  { rpc: 'ListPodSandbox', call: (c) => c.listPodSandbox({}) },
  { rpc: 'ListContainers', call: (c) => c.listContainers({}) },
  { rpc: 'ListImages', call: (c) => c.listImages({}) },
];

/** Measures each RPC `calls` times sequentially (after `warmup` unmeasured calls). */
export async function benchRpcLatency(client: CriClient, opts: { calls?: number; warmup?: number; rpcs?: string[] } = {}): Promise<RpcLatencyResult> {
  const calls = opts.calls ?? 1000;
  const warmup = opts.warmup ?? 50;
  const rows: RpcLatencyRow[] = [];
  for (const { rpc, call } of RPCS.filter((r) => !opts.rpcs || opts.rpcs.includes(r.rpc))) {
    for (let i = 0; i < warmup; i++) await call(client).catch(() => undefined);
    const samples: number[] = [];
    const codes: Record<string, number> = {};
    for (let i = 0; i < calls; i++) {
      const t0 = process.hrtime.bigint();
      let code = 'OK';
      try {
        await call(client);
      } catch (err) {
        code = isServiceError(err) ? (CODE_NAMES[err.code] ?? String(err.code)) : 'CLIENT_ERROR';
      }
      samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
      codes[code] = (codes[code] ?? 0) + 1;
    }
    rows.push({ rpc, calls, codes, ...summarize(samples), samples });
  }
  return { section: 'rpc-latency', rows };
}

/** The section as a table. */
export function formatRpcLatency(result: RpcLatencyResult): string {
  return formatTable(
    ['RPC', 'calls', 'status', 'median ms', 'p90 ms'],
    result.rows.map((r) => [r.rpc, String(r.calls), Object.entries(r.codes).map(([c, n]) => `${c}×${n}`).join(' '), fmtMs(r.medianMs), fmtMs(r.p90Ms)]),
  );
}
