/**
 * The CRI benchmark sequence, driven over a CRI socket with the test client so that it measures
 * any runtime the same way (berth, containerd, cri-o): N sequential pods (Run → Status → Stop →
 * Remove), N containers in one pod (Create → Start → Status → Stop → Remove), N image pulls
 * (Pull → ImageStatus → Remove), and pod + container from scratch (Run + Create + Start, timed as
 * one). Every raw sample is kept so the report can draw distributions.
 */
import type { CriClient } from '../support/cri-client';
import type { CriRequest } from '../../cri/handlers';

/** The operations measured, in report order. */
export const SEQUENCE_OPS = [
  'RunPodSandbox',
  'PodSandboxStatus',
  'StopPodSandbox',
  'RemovePodSandbox',
  'CreateContainer',
  'StartContainer',
  'ContainerStatus',
  'StopContainer',
  'RemoveContainer',
  'PullImage',
  'ImageStatus',
  'RemoveImage',
  'PodAndContainerFromScratch',
] as const;
export type SequenceOp = (typeof SEQUENCE_OPS)[number];

/** Raw samples (ms) per operation. */
export type SequenceSamples = Record<SequenceOp, number[]>;

/** What one run of the sequence needs. */
export interface SequenceOptions {
  /** Image the containers run (already pushed; pulled once up front). */
  containerImage: string;
  /** Image pulled and removed `pulls` times. */
  pullImage: string;
  /** Cgroup parent of every pod (so cleanup can find what a runtime left behind). */
  cgroupParent: string;
  /** Pod log directory (container logs go below it). */
  logDirectory: string;
  /** Unique prefix for pod names (runs of several runtimes must not collide). */
  namePrefix: string;
  pods?: number;
  containers?: number;
  pulls?: number;
  /** Pod + container from scratch repetitions. */
  scratch?: number;
  /**
   * Unmeasured PodSandboxStatus, ContainerStatus and ImageStatus calls (each) on a warm-up pod
   * before the measured steps (default 300; 0 measures a freshly started daemon).
   */
  warmupCalls?: number;
  /** Progress lines. */
  log?: (line: string) => void;
}

type PodConfig = NonNullable<CriRequest<'RunPodSandbox'>['config']>;
type ContainerConfig = NonNullable<CriRequest<'CreateContainer'>['config']>;

/** Namespace modes kubelet sends for a pod without hostNetwork/hostPID/shareProcessNamespace: network and IPC per pod, PID per container. */
const KUBELET_NAMESPACES = { network: 0, pid: 1, ipc: 0 };

/** The sandbox config every bench pod uses (pod network, no hostPort, pid per container). */
export function benchPodConfig(name: string, opts: Pick<SequenceOptions, 'cgroupParent' | 'logDirectory'>): PodConfig {
  return {
    metadata: { name, namespace: 'berth-bench', uid: `uid-${name}`, attempt: 0 },
    hostname: name.slice(-63).replace(/[^a-z0-9-]/g, '-'),
    logDirectory: `${opts.logDirectory}/${name}`,
    labels: { 'io.berth.bench': 'true' },
    linux: { cgroupParent: opts.cgroupParent, securityContext: { namespaceOptions: KUBELET_NAMESPACES } },
  };
}

/**
 * A container that exits promptly on SIGTERM: a shell as PID 1 ignores signals it does not trap,
 * and a plain `sleep` would make Stop measure the grace period.
 */
export function benchContainerConfig(name: string, image: string): ContainerConfig {
  return {
    metadata: { name, attempt: 0 },
    image: { image },
    command: ['sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"],
    logPath: `${name}.log`,
    labels: { 'io.berth.bench': 'true' },
    linux: { securityContext: { namespaceOptions: KUBELET_NAMESPACES } },
  };
}

/** Empty sample lists for every operation. */
export function emptySamples(): SequenceSamples {
  return Object.fromEntries(SEQUENCE_OPS.map((op) => [op, [] as number[]])) as unknown as SequenceSamples;
}

/** Times `fn` into `samples[op]`. */
async function timed<T>(samples: SequenceSamples, op: SequenceOp, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const result = await fn();
  samples[op].push(performance.now() - t0);
  return result;
}

/** Returns the id or throws naming the RPC. */
function required(id: string | null | undefined, rpc: string): string {
  if (!id) throw new Error(`${rpc} returned no id`);
  return id;
}

/** Pulls `image` unless the runtime has it. */
export async function ensureImage(client: CriClient, image: string): Promise<void> {
  const st = await client.imageStatus({ image: { image } });
  if (!st.image) await client.pullImage({ image: { image } });
}

/** One unit of the sequence (a pod cycle, a container cycle, a pull, …), run as a whole. */
export interface SequenceStep {
  /** 'pods', 'containers', 'pulls', 'scratch' or 'setup'. */
  phase: string;
  run(): Promise<void>;
}

/**
 * The sequence as steps, so that two runtimes can be interleaved step by step (then both see the
 * same background load, which on a shared 2-core machine drifts over minutes). Every runtime gets
 * the same list for the same options.
 */
export function sequenceSteps(client: CriClient, opts: SequenceOptions, samples: SequenceSamples): SequenceStep[] {
  const steps: SequenceStep[] = [{ phase: 'setup', run: () => ensureImage(client, opts.containerImage) }];
  if ((opts.warmupCalls ?? 300) > 0) steps.push({ phase: 'setup', run: () => warmUp(client, opts, opts.warmupCalls ?? 300) });
  for (let i = 0; i < (opts.pods ?? 40); i++) steps.push({ phase: 'pods', run: () => podCycle(client, opts, samples, i) });
  const ctr = { podConfig: benchPodConfig(`${opts.namePrefix}-ctrpod`, opts), podId: '' };
  steps.push({ phase: 'setup', run: async () => void (ctr.podId = required((await client.runPodSandbox({ config: ctr.podConfig })).podSandboxId, 'RunPodSandbox')) });
  for (let i = 0; i < (opts.containers ?? 40); i++) steps.push({ phase: 'containers', run: () => containerCycle(client, opts, samples, ctr, i) });
  steps.push({
    phase: 'setup',
    run: async () => {
      await client.stopPodSandbox({ podSandboxId: ctr.podId });
      await client.removePodSandbox({ podSandboxId: ctr.podId });
    },
  });
  steps.push({ phase: 'setup', run: () => removeImageIfPresent(client, opts.pullImage) });
  for (let i = 0; i < (opts.pulls ?? 10); i++) steps.push({ phase: 'pulls', run: () => pullCycle(client, opts, samples) });
  for (let i = 0; i < (opts.scratch ?? 5); i++) steps.push({ phase: 'scratch', run: () => scratchStart(client, opts, samples, i) });
  return steps;
}

/** Runs the whole sequence once; every pod and container it makes is removed again. */
export async function runCriSequence(client: CriClient, opts: SequenceOptions): Promise<SequenceSamples> {
  const samples = emptySamples();
  await runStepsInterleaved([sequenceSteps(client, opts, samples)], opts.log);
  return samples;
}

/**
 * Runs step 0 of every list, then step 1 of every list, …; logs when a phase ends. With several
 * lists, `settleMs` of idle time follows each step, so that a runtime's asynchronous aftermath
 * (shim or conmon exit, containerd's garbage collection) does not land in the other's timing.
 */
export async function runStepsInterleaved(lists: SequenceStep[][], log: (line: string) => void = () => undefined, settleMs = 0): Promise<void> {
  const length = Math.max(...lists.map((l) => l.length));
  for (let i = 0; i < length; i++) {
    for (const list of lists) {
      await list[i]?.run();
      if (lists.length > 1 && settleMs > 0) await new Promise((r) => setTimeout(r, settleMs));
    }
    const phase = lists[0][i]?.phase;
    if (phase && phase !== 'setup' && lists[0][i + 1]?.phase !== phase) log(`  ${phase} done`);
  }
}

/**
 * A node's runtime answers status calls all day; a freshly started one (berthd is JIT-compiled
 * JavaScript) runs its first few hundred calls as interpreted code. Every runtime gets the same
 * unmeasured calls, so the sequence compares steady states.
 */
async function warmUp(client: CriClient, opts: SequenceOptions, calls: number): Promise<void> {
  const podConfig = benchPodConfig(`${opts.namePrefix}-warmup`, opts);
  const podId = required((await client.runPodSandbox({ config: podConfig })).podSandboxId, 'RunPodSandbox');
  try {
    const res = await client.createContainer({ podSandboxId: podId, config: benchContainerConfig('warmup', opts.containerImage), sandboxConfig: podConfig });
    const containerId = required(res.containerId, 'CreateContainer');
    await client.startContainer({ containerId });
    for (let i = 0; i < calls; i++) {
      await client.podSandboxStatus({ podSandboxId: podId });
      await client.containerStatus({ containerId });
      await client.imageStatus({ image: { image: opts.containerImage } });
    }
  } finally {
    await client.stopPodSandbox({ podSandboxId: podId });
    await client.removePodSandbox({ podSandboxId: podId });
  }
}

async function podCycle(client: CriClient, opts: SequenceOptions, samples: SequenceSamples, i: number): Promise<void> {
  const config = benchPodConfig(`${opts.namePrefix}-pod-${i}`, opts);
  const id = required((await timed(samples, 'RunPodSandbox', () => client.runPodSandbox({ config }))).podSandboxId, 'RunPodSandbox');
  try {
    await timed(samples, 'PodSandboxStatus', () => client.podSandboxStatus({ podSandboxId: id }));
    await timed(samples, 'StopPodSandbox', () => client.stopPodSandbox({ podSandboxId: id }));
  } finally {
    await timed(samples, 'RemovePodSandbox', () => client.removePodSandbox({ podSandboxId: id }));
  }
}

async function containerCycle(client: CriClient, opts: SequenceOptions, samples: SequenceSamples, pod: { podConfig: PodConfig; podId: string }, i: number): Promise<void> {
  const config = benchContainerConfig(`c${i}`, opts.containerImage);
  const res = await timed(samples, 'CreateContainer', () => client.createContainer({ podSandboxId: pod.podId, config, sandboxConfig: pod.podConfig }));
  const id = required(res.containerId, 'CreateContainer');
  try {
    await timed(samples, 'StartContainer', () => client.startContainer({ containerId: id }));
    await timed(samples, 'ContainerStatus', () => client.containerStatus({ containerId: id }));
    await timed(samples, 'StopContainer', () => client.stopContainer({ containerId: id, timeout: 10 }));
  } finally {
    await timed(samples, 'RemoveContainer', () => client.removeContainer({ containerId: id }));
  }
}

/** Removes `image` when present, whatever an earlier run left (pulls start from absent). */
async function removeImageIfPresent(client: CriClient, image: string): Promise<void> {
  const before = await client.imageStatus({ image: { image } });
  if (before.image?.id) await client.removeImage({ image: { image: before.image.id } });
}

async function pullCycle(client: CriClient, opts: SequenceOptions, samples: SequenceSamples): Promise<void> {
  const image = { image: opts.pullImage };
  const pulled = await timed(samples, 'PullImage', () => client.pullImage({ image }));
  await timed(samples, 'ImageStatus', () => client.imageStatus({ image }));
  await timed(samples, 'RemoveImage', () => client.removeImage({ image: { image: required(pulled.imageRef, 'PullImage') } }));
}

async function scratchStart(client: CriClient, opts: SequenceOptions, samples: SequenceSamples, i: number): Promise<void> {
  const podConfig = benchPodConfig(`${opts.namePrefix}-scratch-${i}`, opts);
  let podId: string | undefined;
  try {
    await timed(samples, 'PodAndContainerFromScratch', async () => {
      podId = required((await client.runPodSandbox({ config: podConfig })).podSandboxId, 'RunPodSandbox');
      const res = await client.createContainer({ podSandboxId: podId, config: benchContainerConfig('main', opts.containerImage), sandboxConfig: podConfig });
      await client.startContainer({ containerId: required(res.containerId, 'CreateContainer') });
    });
  } finally {
    if (podId) {
      await client.stopPodSandbox({ podSandboxId: podId });
      await client.removePodSandbox({ podSandboxId: podId });
    }
  }
}

/** Stops and removes every pod labelled as a bench pod (after a failure or Ctrl-C). */
export async function removeBenchPods(client: CriClient, timeoutMs = 30_000): Promise<number> {
  const { items } = await client.listPodSandbox({ filter: { labelSelector: { 'io.berth.bench': 'true' } } }, { timeoutMs });
  for (const pod of items ?? []) {
    if (!pod.id) continue;
    await client.stopPodSandbox({ podSandboxId: pod.id }, { timeoutMs }).catch(() => undefined);
    await client.removePodSandbox({ podSandboxId: pod.id }, { timeoutMs }).catch(() => undefined);
  }
  return items?.length ?? 0;
}
