/**
 * Domain-level pod bench: RunPodSandbox / PodSandboxStatus / StopPodSandbox / RemovePodSandbox
 * latency (median and p90) over N sequential pods directly on a PodManager (or an in-process CRI
 * server with BENCH_VIA=cri), without a daemon: for profiling the pod layer alone. Run this file
 * directly (root needed). `npm run bench` measures the same RPCs through a real berthd's socket
 * (cri-sequence.ts).
 */
import type { PodManager } from '../../pod/pod-manager';
import type { PodSandboxConfigInput } from '../../pod/types';
import { roundedSummary, round1, quantile } from './stats';

/** The four calls being measured, whatever carries them. */
export interface PodLifecycleTarget {
  /** 'cri-socket' or 'pod-manager': reported with the numbers. */
  readonly via: string;
  run(config: PodSandboxConfigInput): Promise<string>;
  /** Returns the RunPodSandbox step timings when the status exposes them. */
  status(id: string): Promise<Record<string, number> | undefined>;
  stop(id: string): Promise<void>;
  remove(id: string): Promise<void>;
}

/** The subset of the CRI test client (test/support/cri-client.ts) this bench uses. */
export interface PodCriClient {
  runPodSandbox(req: { config: PodSandboxConfigInput; runtimeHandler?: string }): Promise<{ podSandboxId?: string | null }>;
  podSandboxStatus(req: { podSandboxId: string; verbose?: boolean }): Promise<{ info?: { [k: string]: string } | null }>;
  stopPodSandbox(req: { podSandboxId: string }): Promise<unknown>;
  removePodSandbox(req: { podSandboxId: string }): Promise<unknown>;
}

/** Latency figures of one RPC, in milliseconds. */
export interface LatencyFigures {
  medianMs: number;
  p90Ms: number;
}

/** What the section reports. */
export interface PodLifecycleBenchResult {
  section: 'pod-lifecycle';
  via: string;
  pods: number;
  rpcs: Record<'RunPodSandbox' | 'PodSandboxStatus' | 'StopPodSandbox' | 'RemovePodSandbox', LatencyFigures>;
  /** Median of each RunPodSandbox step (from the verbose status), when available. */
  runStepMediansMs: Record<string, number>;
  targetsMs: { RunPodSandbox: number; StopPodSandbox: number; RemovePodSandbox: number };
}

/** Targets from the issue (2-core VM). */
export const POD_LIFECYCLE_TARGETS_MS = { RunPodSandbox: 150, StopPodSandbox: 150, RemovePodSandbox: 40 };

/** Runs `pods` sequential run → status → stop → remove cycles and summarises the latencies. */
export async function benchPodLifecycle(target: PodLifecycleTarget, opts: { pods?: number; namePrefix?: string } = {}): Promise<PodLifecycleBenchResult> {
  const pods = opts.pods ?? 40;
  const prefix = opts.namePrefix ?? `bench-${process.pid}-${Date.now().toString(36)}`;
  const samples = { RunPodSandbox: [] as number[], PodSandboxStatus: [] as number[], StopPodSandbox: [] as number[], RemovePodSandbox: [] as number[] };
  const steps: Record<string, number[]> = {};
  for (let i = 0; i < pods; i++) {
    const name = `${prefix}-${i}`;
    const config: PodSandboxConfigInput = {
      metadata: { name, namespace: 'bench', uid: `uid-${name}`, attempt: 0 },
      hostname: `bench-${i}`,
      labels: { bench: 'pod-lifecycle' },
      portMappings: [{ containerPort: 80, hostPort: 0 }],
    };
    let t = performance.now();
    const id = await target.run(config);
    samples.RunPodSandbox.push(performance.now() - t);
    try {
      t = performance.now();
      const timings = await target.status(id);
      samples.PodSandboxStatus.push(performance.now() - t);
      for (const [step, ms] of Object.entries(timings ?? {})) (steps[step] ??= []).push(ms);
      t = performance.now();
      await target.stop(id);
      samples.StopPodSandbox.push(performance.now() - t);
    } finally {
      t = performance.now();
      await target.remove(id);
      samples.RemovePodSandbox.push(performance.now() - t);
    }
  }
  const figures = (xs: number[]): LatencyFigures => roundedSummary(xs);
  return {
    section: 'pod-lifecycle',
    via: target.via,
    pods,
    rpcs: {
      RunPodSandbox: figures(samples.RunPodSandbox),
      PodSandboxStatus: figures(samples.PodSandboxStatus),
      StopPodSandbox: figures(samples.StopPodSandbox),
      RemovePodSandbox: figures(samples.RemovePodSandbox),
    },
    runStepMediansMs: Object.fromEntries(Object.entries(steps).map(([s, xs]) => [s, round1(quantile(xs, 0.5))])),
    targetsMs: POD_LIFECYCLE_TARGETS_MS,
  };
}

/** Benches a PodManager directly. */
export function podManagerTarget(pods: PodManager): PodLifecycleTarget {
  return {
    via: 'pod-manager',
    run: (config) => pods.runPodSandbox(config, ''),
    status: async (id) => pods.podSandboxStatus(id).verbose.stepTimingsMs as Record<string, number>,
    stop: (id) => pods.stopPodSandbox(id),
    remove: (id) => pods.removePodSandbox(id),
  };
}

/** Benches through the CRI socket with the test client. */
export function criClientTarget(client: PodCriClient): PodLifecycleTarget {
  return {
    via: 'cri-socket',
    run: async (config) => {
      const res = await client.runPodSandbox({ config, runtimeHandler: '' });
      if (!res.podSandboxId) throw new Error('RunPodSandbox returned no pod_sandbox_id');
      return res.podSandboxId;
    },
    status: async (id) => {
      const res = await client.podSandboxStatus({ podSandboxId: id, verbose: true });
      const info = res.info?.info;
      return info ? (JSON.parse(info) as { stepTimingsMs?: Record<string, number> }).stepTimingsMs : undefined;
    },
    stop: async (id) => void (await client.stopPodSandbox({ podSandboxId: id })),
    remove: async (id) => void (await client.removePodSandbox({ podSandboxId: id })),
  };
}

/** Formats the result as the lines the bench prints. */
export function formatPodLifecycle(result: PodLifecycleBenchResult): string {
  const lines = [`pod lifecycle over ${result.pods} sequential pods (via ${result.via}):`];
  for (const [rpc, f] of Object.entries(result.rpcs)) {
    const target = (result.targetsMs as Record<string, number>)[rpc];
    lines.push(`  ${rpc.padEnd(17)} median ${f.medianMs.toFixed(1).padStart(6)} ms  p90 ${f.p90Ms.toFixed(1).padStart(6)} ms${target ? `  (target ≤ ${target} ms)` : ''}`);
  }
  const steps = Object.entries(result.runStepMediansMs).map(([s, ms]) => `${s} ${ms.toFixed(1)}`);
  if (steps.length > 0) lines.push(`  RunPodSandbox step medians (ms): ${steps.join(', ')}`);
  return lines.join('\n');
}

/**
 * Standalone: a PodManager with the real addon and CNI on a throwaway network, benched directly or
 * (BENCH_VIA=cri) through an in-process CRI server on a temp unix socket with the test client.
 */
async function main(): Promise<void> {
  const { createPodEnv, destroyPodEnv } = await import('../e2e/pod-support');
  const env = await createPodEnv();
  const cleanups: Array<() => Promise<void> | void> = [];
  try {
    let target = podManagerTarget(env.pods);
    if (process.env.BENCH_VIA === 'cri') {
      const { createCriServer } = await import('../../cri/server');
      const { podSandboxHandlers } = await import('../../cri/runtime/pod-handlers');
      const { createCriClient } = await import('../support/cri-client');
      const { silentLogger } = await import('../../common/logger');
      const server = createCriServer({ handlers: podSandboxHandlers({ pods: env.pods }), logger: silentLogger });
      const socket = `${env.tmp}/cri.sock`;
      await server.listen(socket);
      const client = createCriClient(socket);
      cleanups.push(() => client.close(), () => server.shutdown(1000));
      target = criClientTarget(client as unknown as PodCriClient);
    }
    const result = await benchPodLifecycle(target, { pods: Number(process.env.BENCH_PODS ?? 40) });
    console.log(formatPodLifecycle(result));
    if (process.env.BENCH_JSON) console.log(JSON.stringify(result));
  } finally {
    for (const cleanup of cleanups) await cleanup();
    await destroyPodEnv(env);
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
