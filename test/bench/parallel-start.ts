/**
 * Bench section `parallel-start`: `pods` pods with one container each started with `inFlight`
 * at a time (kubelet starts the pods of a node in parallel, e.g. after a drain or a reboot): total
 * wall time, each pod's RunPodSandbox → CreateContainer → StartContainer, and berthd's event-loop
 * delay during the burst. Then the pods are removed and, `memoryWaitS` later, the daemon's PSS is
 * read: what it keeps after a burst, against what it had before.
 *
 * Each runtime's burst follows `quietBeforeS` of idle time. The runtime measured second used to
 * start 30 s after the first one's pods were gone (the memory wait), the first one 2 s after the
 * CRI sequence had removed its pods and images; on ext4 without a journal, as on the bench VM,
 * every inode allocation steps over the inodes freed in the last ~30 s, and perf showed that walk
 * at 10-20 % of the burst's CPU when it followed the removals closely (side-by-side runs, berth's
 * total 1.54 and 1.83 s after 2 s of quiet, 1.39 and 1.43 s after 30 s).
 */
import type { CriClient } from '../support/cri-client';
import { ensureImage } from './cri-sequence';
import { processMemory } from './daemon-startup';
import { scrapeLoopLag, type LoopLag } from './loop-lag';
import { removePods, startPods, type PodPoolOptions } from './pod-pool';

/** What the section needs. */
export interface ParallelStartOptions extends PodPoolOptions {
  daemonPid: number | undefined;
  metricsAddress: string | undefined;
  pods: number;
  inFlight: number;
  /** Wait after the pods are gone before the "after" PSS (s). */
  memoryWaitS: number;
  /** Idle time before the burst (s); see the file comment. */
  quietBeforeS: number;
  log?: (line: string) => void;
}

/** What it measured on one runtime. */
export interface ParallelStartResult {
  pods: number;
  inFlight: number;
  totalMs: number;
  /** Each pod's Run + Create + Start (ms), in pod order. */
  perPodMs: number[];
  loopLag: LoopLag | undefined;
  teardownMs: number;
  daemonPssBeforeKiB: number | undefined;
  memoryWaitS: number;
  /** Daemon PSS `memoryWaitS` after the last pod was removed. */
  daemonPssAfterKiB: number | undefined;
  /** Its anonymous part (heap, stacks, malloc; no file pages shared with other processes). */
  daemonAnonAfterKiB?: number;
}

/** Runs the section on one runtime; every pod it made is removed again. */
export async function benchParallelStart(client: CriClient, opts: ParallelStartOptions): Promise<ParallelStartResult> {
  const log = opts.log ?? (() => undefined);
  await ensureImage(client, opts.containerImage);
  await new Promise((r) => setTimeout(r, opts.quietBeforeS * 1000));
  const daemonPssBeforeKiB = opts.daemonPid === undefined ? undefined : processMemory(opts.daemonPid).pssKiB;
  await scrapeLoopLag(opts.metricsAddress); // resets the histogram
  const podIds: string[] = [];
  try {
    const started = await startPods(client, opts.pods, opts.inFlight, opts, podIds);
    const loopLag = await scrapeLoopLag(opts.metricsAddress);
    log(`  ${opts.pods} pods (${opts.inFlight} in flight) started in ${(started.totalMs / 1000).toFixed(2)} s`);
    const teardownMs = await removePods(client, podIds.splice(0), opts.inFlight);
    log(`  removed in ${(teardownMs / 1000).toFixed(2)} s; daemon PSS in ${opts.memoryWaitS} s`);
    await new Promise((r) => setTimeout(r, opts.memoryWaitS * 1000));
    const after = opts.daemonPid === undefined ? undefined : processMemory(opts.daemonPid);
    return {
      pods: opts.pods,
      inFlight: opts.inFlight,
      totalMs: started.totalMs,
      perPodMs: started.pods.map((p) => p.startMs),
      loopLag,
      teardownMs,
      daemonPssBeforeKiB,
      memoryWaitS: opts.memoryWaitS,
      daemonPssAfterKiB: after?.pssKiB,
      daemonAnonAfterKiB: after?.pssAnonKiB,
    };
  } finally {
    if (podIds.length > 0) await removePods(client, podIds, opts.inFlight);
  }
}
