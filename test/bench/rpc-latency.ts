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
  return (await benchRpcLatencyInterleaved([client], opts))[0];
}

/**
 * The same for several runtimes at once: every runtime gets `warmup` unmeasured calls of an RPC
 * first, then call i goes to each runtime in turn. The client (and a JIT-compiled daemon) is then
 * equally warm for all of them and all see the same background load; measured one after the
 * other, the first runtime would pay for warming the bench's own client code.
 */
export async function benchRpcLatencyInterleaved(clients: CriClient[], opts: { calls?: number; warmup?: number; rpcs?: string[] } = {}): Promise<RpcLatencyResult[]> {
  const calls = opts.calls ?? 1000;
  const warmup = opts.warmup ?? 500;
  const rows: RpcLatencyRow[][] = clients.map(() => []);
  for (const { rpc, call } of RPCS.filter((r) => !opts.rpcs || opts.rpcs.includes(r.rpc))) {
    for (let i = 0; i < warmup; i++) for (const client of clients) await call(client).catch(() => undefined);
    const samples: number[][] = clients.map(() => []);
    const codes: Array<Record<string, number>> = clients.map(() => ({}));
    for (let i = 0; i < calls; i++) {
      for (const [k, client] of clients.entries()) {
        const t0 = process.hrtime.bigint();
        let code = 'OK';
        try {
          await call(client);
        } catch (err) {
          code = isServiceError(err) ? (CODE_NAMES[err.code] ?? String(err.code)) : 'CLIENT_ERROR';
        }
        samples[k].push(Number(process.hrtime.bigint() - t0) / 1e6);
        codes[k][code] = (codes[k][code] ?? 0) + 1;
      }
    }
    clients.forEach((_, k) => rows[k].push({ rpc, calls, codes: codes[k], ...summarize(samples[k]), samples: samples[k] }));
  }
  return rows.map((r) => ({ section: 'rpc-latency', rows: r }));
}

/** The section as a table. */
export function formatRpcLatency(result: RpcLatencyResult): string {
  return formatTable(
    ['RPC', 'calls', 'status', 'median ms', 'p90 ms'],
    result.rows.map((r) => [r.rpc, String(r.calls), Object.entries(r.codes).map(([c, n]) => `${c}×${n}`).join(' '), fmtMs(r.medianMs), fmtMs(r.p90Ms)]),
  );
}
