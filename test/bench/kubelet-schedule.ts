/**
 * The CRI calls a kubelet makes on a busy node in steady state, as a timetable: the PLEG relist
 * (ListPodSandbox then ListContainers) every second; pod workers' status syncs (PodSandboxStatus
 * then ContainerStatus of one pod), twice a second, round-robin over the pods; the stats provider
 * (ListPodSandboxStats, ListContainerStats, ImageFsInfo) every 10 s; and an exec readiness probe
 * (ExecSync, 1 s timeout, period 10 s) on a share of the pods, their phases spread evenly over the
 * period. Pure: the runner (kubelet-load.ts) fires each event at its time without waiting for
 * earlier ones (open loop, like kubelet's goroutines), the calls inside one event in sequence.
 */

/** The RPCs the steady state uses. */
export const KUBELET_RPCS = ['ListPodSandbox', 'ListContainers', 'PodSandboxStatus', 'ContainerStatus', 'ListPodSandboxStats', 'ListContainerStats', 'ImageFsInfo', 'ExecSync'] as const;
export type KubeletRpc = (typeof KUBELET_RPCS)[number];

/** One call; `pod` indexes the started pods for the per-pod RPCs. */
export interface KubeletCall {
  rpc: KubeletRpc;
  pod?: number;
}

/** Calls fired together at `atMs` from the window's start and run one after the other. */
export interface KubeletEvent {
  atMs: number;
  kind: 'relist' | 'status' | 'stats' | 'probe';
  calls: KubeletCall[];
}

/** Shape of the load. */
export interface KubeletScheduleOptions {
  pods: number;
  durationMs: number;
  /** Share of pods with an exec probe, 0..1. */
  probeShare: number;
  relistPeriodMs?: number;
  /** Status syncs (one pod each) per second. */
  statusPerSecond?: number;
  statsPeriodMs?: number;
  probePeriodMs?: number;
}

/** How many pods get a probe: the share rounded to the nearest pod. */
export function probedPodCount(pods: number, share: number): number {
  return Math.min(pods, Math.max(0, Math.round(pods * share)));
}

/** Which pods get a probe: `count` indices spread evenly over 0..pods-1. */
export function probedPods(pods: number, share: number): number[] {
  const count = probedPodCount(pods, share);
  return Array.from({ length: count }, (_, j) => Math.floor((j * pods) / count));
}

/** The timetable of one window, sorted by time. */
export function kubeletSchedule(opts: KubeletScheduleOptions): KubeletEvent[] {
  const { pods, durationMs } = opts;
  const relist = opts.relistPeriodMs ?? 1000;
  const statusPerSecond = opts.statusPerSecond ?? 2;
  const statsPeriod = opts.statsPeriodMs ?? 10_000;
  const probePeriod = opts.probePeriodMs ?? 10_000;
  const events: KubeletEvent[] = [];
  for (let t = 0; t < durationMs; t += relist) events.push({ atMs: t, kind: 'relist', calls: [{ rpc: 'ListPodSandbox' }, { rpc: 'ListContainers' }] });
  if (pods > 0 && statusPerSecond > 0) {
    // Between the relists: at 250 and 750 ms of each second for 2 per second.
    const gap = 1000 / statusPerSecond;
    let next = 0;
    for (let t = gap / 2; t < durationMs; t += gap) {
      const pod = next++ % pods;
      events.push({ atMs: t, kind: 'status', calls: [{ rpc: 'PodSandboxStatus', pod }, { rpc: 'ContainerStatus', pod }] });
    }
  }
  for (let t = statsPeriod / 20; t < durationMs; t += statsPeriod) {
    events.push({ atMs: t, kind: 'stats', calls: [{ rpc: 'ListPodSandboxStats' }, { rpc: 'ListContainerStats' }, { rpc: 'ImageFsInfo' }] });
  }
  const probed = probedPods(pods, opts.probeShare);
  for (let period = 0; period < durationMs; period += probePeriod) {
    probed.forEach((pod, j) => {
      const t = period + (j * probePeriod) / probed.length;
      if (t < durationMs) events.push({ atMs: t, kind: 'probe', calls: [{ rpc: 'ExecSync', pod }] });
    });
  }
  return events.sort((a, b) => a.atMs - b.atMs);
}

/** Calls per RPC in a timetable. */
export function callCounts(events: readonly KubeletEvent[]): Record<KubeletRpc, number> {
  const out = Object.fromEntries(KUBELET_RPCS.map((r) => [r, 0])) as Record<KubeletRpc, number>;
  for (const e of events) for (const c of e.calls) out[c.rpc]++;
  return out;
}
