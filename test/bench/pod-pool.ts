/**
 * Starting and removing many bench pods (one sleeping container each) over a CRI socket with a
 * bounded number in flight, the way kubelet's pod workers do: used by density (one at a time),
 * parallel-start and the kubelet steady state.
 */
import type { CriClient } from '../support/cri-client';
import { benchContainerConfig, benchPodConfig } from './cri-sequence';

/** Where the pods go and how they are named. */
export interface PodPoolOptions {
  containerImage: string;
  cgroupParent: string;
  logDirectory: string;
  /** Pod names are `<namePrefix>-<i>`. */
  namePrefix: string;
}

/** One started pod. */
export interface StartedPod {
  podId: string;
  containerId: string;
  /** RunPodSandbox → CreateContainer → StartContainer of this pod (ms). */
  startMs: number;
}

/** What startPods did. */
export interface PodStartRun {
  /** In index order; only the pods whose three calls all succeeded. */
  pods: StartedPod[];
  /** Wall time of the whole batch (ms). */
  totalMs: number;
}

/**
 * Runs `work(i)` for i in 0..count-1 with at most `inFlight` running at once; the first
 * rejection is rethrown once every started item has settled.
 */
export async function runPool(count: number, inFlight: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < count && !failure) {
      const i = next++;
      await work(i).catch((err: unknown) => void (failure ??= { err }));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(inFlight, count)) }, worker));
  if (failure) throw failure.err;
}

/**
 * Starts `count` pods with one container each, `inFlight` at a time. Each sandbox id is pushed to
 * `created` as soon as it exists, so the caller can remove them all also when a start fails.
 */
export async function startPods(client: CriClient, count: number, inFlight: number, opts: PodPoolOptions, created: string[]): Promise<PodStartRun> {
  const slots: Array<StartedPod | undefined> = new Array<StartedPod | undefined>(count);
  const t0 = performance.now();
  await runPool(count, inFlight, async (i) => {
    const started = performance.now();
    const config = benchPodConfig(`${opts.namePrefix}-${i}`, opts);
    const podId = (await client.runPodSandbox({ config })).podSandboxId;
    if (!podId) throw new Error('RunPodSandbox returned no id');
    created.push(podId);
    const ctr = await client.createContainer({ podSandboxId: podId, config: benchContainerConfig('sleep', opts.containerImage), sandboxConfig: config });
    if (!ctr.containerId) throw new Error('CreateContainer returned no id');
    await client.startContainer({ containerId: ctr.containerId });
    slots[i] = { podId, containerId: ctr.containerId, startMs: performance.now() - started };
  });
  return { pods: slots.filter((p): p is StartedPod => p !== undefined), totalMs: performance.now() - t0 };
}

/** Stops and removes `podIds`, `inFlight` at a time; errors are ignored (already gone is fine). Returns the wall time (ms). */
export async function removePods(client: CriClient, podIds: readonly string[], inFlight = 1): Promise<number> {
  const t0 = performance.now();
  await runPool(podIds.length, inFlight, async (i) => {
    await client.stopPodSandbox({ podSandboxId: podIds[i] }).catch(() => undefined);
    await client.removePodSandbox({ podSandboxId: podIds[i] }).catch(() => undefined);
  });
  return performance.now() - t0;
}
