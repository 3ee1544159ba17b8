/**
 * Domain-level container bench: CreateContainer / StartContainer / ContainerStatus /
 * StopContainer / RemoveContainer latency (median and p90) over N sequential containers in one pod
 * directly on a ContainerManager (real runc + conmon, busybox rootfs, throwaway netns; root
 * needed), for profiling the runtime layer alone. Run this file directly. `npm run bench`
 * measures the same RPCs through a real berthd's socket (cri-sequence.ts).
 */
import type { ContainerManager } from '../../runtime/container-manager';
import type { ContainerConfigInput } from '../../runtime/spec/inputs';
import { roundedSummary } from './stats';

/** The five calls being measured, whatever carries them. */
export interface ContainerLifecycleTarget {
  /** 'cri-socket' or 'container-manager': reported with the numbers. */
  readonly via: string;
  create(podSandboxId: string, config: ContainerConfigInput): Promise<string>;
  start(id: string): Promise<void>;
  status(id: string): Promise<void>;
  stop(id: string, timeoutSeconds: number): Promise<void>;
  remove(id: string): Promise<void>;
}

export interface LatencyFigures {
  medianMs: number;
  p90Ms: number;
}

export type ContainerRpc = 'CreateContainer' | 'StartContainer' | 'ContainerStatus' | 'StopContainer' | 'RemoveContainer';

export interface ContainerBenchResult {
  section: 'containers';
  via: string;
  containers: number;
  rpcs: Record<ContainerRpc, LatencyFigures>;
  targetsMs: Partial<Record<ContainerRpc, number>>;
}

/** Container operation targets (2-core VM, runc). */
export const CONTAINER_TARGETS_MS: Partial<Record<ContainerRpc, number>> = { CreateContainer: 10, StartContainer: 90 };

/**
 * A container that exits promptly on SIGTERM (a shell as PID 1 ignores signals it does not trap,
 * and a plain `sleep` would make Stop measure the grace period).
 */
export function benchContainerConfig(name: string, image: string, logPath: string): ContainerConfigInput {
  return {
    name,
    attempt: 0,
    image,
    command: ['sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"],
    args: [],
    workingDir: '',
    envs: [],
    mounts: [],
    devices: [],
    labels: { bench: 'containers' },
    annotations: {},
    logPath,
    stdin: false,
    stdinOnce: false,
    tty: false,
    security: {},
  };
}

/** Runs `containers` sequential create → start → status → stop → remove cycles in pod `podSandboxId`. */
export async function benchContainers(
  target: ContainerLifecycleTarget,
  podSandboxId: string,
  opts: { containers?: number; image?: string; namePrefix?: string; stopTimeoutSeconds?: number } = {},
): Promise<ContainerBenchResult> {
  const n = opts.containers ?? 40;
  const prefix = opts.namePrefix ?? `bench${Date.now().toString(36)}`;
  const samples: Record<ContainerRpc, number[]> = { CreateContainer: [], StartContainer: [], ContainerStatus: [], StopContainer: [], RemoveContainer: [] };
  const timed = async <T>(rpc: ContainerRpc, fn: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    const r = await fn();
    samples[rpc].push(performance.now() - t);
    return r;
  };
  for (let i = 0; i < n; i++) {
    const name = `${prefix}-${i}`;
    const id = await timed('CreateContainer', () => target.create(podSandboxId, benchContainerConfig(name, opts.image ?? 'busybox:e2e', `${name}/0.log`)));
    try {
      await timed('StartContainer', () => target.start(id));
      await timed('ContainerStatus', () => target.status(id));
      await timed('StopContainer', () => target.stop(id, opts.stopTimeoutSeconds ?? 10));
    } finally {
      await timed('RemoveContainer', () => target.remove(id));
    }
  }
  const figures = (xs: number[]): LatencyFigures => roundedSummary(xs);
  return {
    section: 'containers',
    via: target.via,
    containers: n,
    rpcs: {
      CreateContainer: figures(samples.CreateContainer),
      StartContainer: figures(samples.StartContainer),
      ContainerStatus: figures(samples.ContainerStatus),
      StopContainer: figures(samples.StopContainer),
      RemoveContainer: figures(samples.RemoveContainer),
    },
    targetsMs: CONTAINER_TARGETS_MS,
  };
}

/** Benches a ContainerManager directly. */
export function containerManagerTarget(m: ContainerManager): ContainerLifecycleTarget {
  return {
    via: 'container-manager',
    create: (pod, config) => m.createContainer(pod, config),
    start: (id) => m.startContainer(id),
    status: async (id) => void (await m.containerStatus(id, false)),
    stop: (id, t) => m.stopContainer(id, t),
    remove: (id) => m.removeContainer(id),
  };
}

/** The subset of the CRI test client (test/support/cri-client.ts) this bench uses. */
export interface ContainerCriClient {
  createContainer(req: { podSandboxId: string; config: Record<string, unknown> }): Promise<{ containerId?: string | null }>;
  startContainer(req: { containerId: string }): Promise<unknown>;
  containerStatus(req: { containerId: string }): Promise<unknown>;
  stopContainer(req: { containerId: string; timeout: number }): Promise<unknown>;
  removeContainer(req: { containerId: string }): Promise<unknown>;
}

/** Benches through the CRI socket; the config is sent as its CRI ContainerConfig equivalent. */
export function containerCriClientTarget(client: ContainerCriClient): ContainerLifecycleTarget {
  return {
    via: 'cri-socket',
    create: async (podSandboxId, c) => {
      const res = await client.createContainer({
        podSandboxId,
        config: { metadata: { name: c.name, attempt: c.attempt }, image: { image: c.image }, command: c.command, args: c.args, labels: c.labels, logPath: c.logPath },
      });
      if (!res.containerId) throw new Error('CreateContainer returned no container_id');
      return res.containerId;
    },
    start: async (id) => void (await client.startContainer({ containerId: id })),
    status: async (id) => void (await client.containerStatus({ containerId: id })),
    stop: async (id, t) => void (await client.stopContainer({ containerId: id, timeout: t })),
    remove: async (id) => void (await client.removeContainer({ containerId: id })),
  };
}

/** Formats the result as the lines the bench prints. */
export function formatContainers(result: ContainerBenchResult): string {
  const lines = [`container lifecycle over ${result.containers} sequential containers (via ${result.via}):`];
  for (const [rpc, f] of Object.entries(result.rpcs)) {
    const target = result.targetsMs[rpc as ContainerRpc];
    lines.push(`  ${rpc.padEnd(16)} median ${f.medianMs.toFixed(1).padStart(6)} ms  p90 ${f.p90Ms.toFixed(1).padStart(6)} ms${target ? `  (target ≤ ${target} ms)` : ''}`);
  }
  return lines.join('\n');
}

/** Standalone: a ContainerManager on real runc + conmon (root needed). */
async function main(): Promise<void> {
  const { createRuntimeEnv, destroyRuntimeEnv } = await import('../e2e/runtime-support');
  const env = await createRuntimeEnv();
  try {
    const result = await benchContainers(containerManagerTarget(env.manager), env.pod.id, { containers: Number(process.env.BENCH_CONTAINERS ?? 40) });
    console.log(formatContainers(result));
    console.log(`  (overlay mounts via ${env.native.kind}; load average ${require('node:os').loadavg().map((x: number) => x.toFixed(2)).join(' ')})`);
    if (process.env.BENCH_JSON) console.log(JSON.stringify(result));
  } finally {
    await destroyRuntimeEnv(env);
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
