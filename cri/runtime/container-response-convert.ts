/** Converts runtime/'s container views into CRI response messages. */
import { constants as osConstants } from 'node:os';
import type { ContainerState } from '../../runtime/container-record';
import type { ContainerStatusView } from '../../runtime/container-view';
import type { ContainerMountInput, LinuxResourcesInput } from '../../runtime/spec/inputs';
import { runtime } from '../api/generated/cri';
import { encodedPerView, type EncodedMessage } from '../pre-encoded';
import { propagationToWire } from './container-request-convert';

const STATE_TO_WIRE: Record<ContainerState, runtime.v1.ContainerState> = {
  created: runtime.v1.ContainerState.CONTAINER_CREATED,
  running: runtime.v1.ContainerState.CONTAINER_RUNNING,
  exited: runtime.v1.ContainerState.CONTAINER_EXITED,
  unknown: runtime.v1.ContainerState.CONTAINER_UNKNOWN,
};

const STATE_FROM_WIRE = new Map<number, ContainerState>(
  (Object.entries(STATE_TO_WIRE) as Array<[ContainerState, runtime.v1.ContainerState]>).map(([name, wire]) => [wire, name]),
);

/** runtime's state → CRI ContainerState. */
function stateToWire(s: ContainerState): runtime.v1.ContainerState {
  return STATE_TO_WIRE[s] ?? runtime.v1.ContainerState.CONTAINER_UNKNOWN;
}

/** CRI ContainerState → runtime's state. */
export function stateFromWire(s: runtime.v1.ContainerState | null | undefined): ContainerState {
  return STATE_FROM_WIRE.get(s ?? -1) ?? 'unknown';
}

function resourcesToWire(r: LinuxResourcesInput | undefined): runtime.v1.ILinuxContainerResources | undefined {
  if (!r) return undefined;
  return {
    cpuPeriod: r.cpuPeriod ?? 0,
    cpuQuota: r.cpuQuota ?? 0,
    cpuShares: r.cpuShares ?? 0,
    memoryLimitInBytes: r.memoryLimitInBytes ?? 0,
    memorySwapLimitInBytes: r.memorySwapLimitInBytes ?? 0,
    oomScoreAdj: r.oomScoreAdj ?? 0,
    cpusetCpus: r.cpusetCpus ?? '',
    cpusetMems: r.cpusetMems ?? '',
    hugepageLimits: (r.hugepageLimits ?? []).map((h) => ({ pageSize: h.pageSize, limit: h.limit })),
    unified: { ...(r.unified ?? {}) },
  };
}

/** A status mount; an image volume also carries its image and sub path, as in the request. */
function mountToWire(m: ContainerMountInput): runtime.v1.IMount {
  const out: runtime.v1.IMount = { containerPath: m.containerPath, hostPath: m.hostPath, readonly: m.readonly, propagation: propagationToWire(m.propagation), recursiveReadOnly: m.recursiveReadOnly === true };
  if (m.image !== undefined) {
    out.image = { image: m.image };
    if (m.imageSubPath) out.imageSubPath = m.imageSubPath;
  }
  return out;
}

const SIGNAL_BY_NAME = new Map(Object.entries(runtime.v1.Signal).filter((e): e is [string, runtime.v1.Signal] => typeof e[1] === 'number'));

/**
 * A stop signal as OCI configs write it ("SIGQUIT", "QUIT", "3", "SIGRTMIN+3") → CRI Signal.
 * '' means the runtime default, which is SIGTERM (reported as such, like containerd does);
 * a name CRI has no value for is RUNTIME_DEFAULT.
 */
export function stopSignalToWire(name: string): runtime.v1.Signal {
  let s = name.trim().toUpperCase();
  if (s === '') return runtime.v1.Signal.SIGTERM;
  if (/^[0-9]+$/.test(s)) {
    const byNumber = Object.entries(osConstants.signals).find(([, n]) => n === Number(s));
    if (!byNumber) return runtime.v1.Signal.RUNTIME_DEFAULT;
    s = byNumber[0];
  }
  if (!s.startsWith('SIG')) s = `SIG${s}`;
  s = s.replace(/^SIGRTMIN\+([0-9]+)$/, 'SIGRTMINPLUS$1').replace(/^SIGRTMAX-([0-9]+)$/, 'SIGRTMAXMINUS$1');
  return SIGNAL_BY_NAME.get(s) ?? runtime.v1.Signal.RUNTIME_DEFAULT;
}

/** ContainerStatus message. */
export function statusToWire(v: ContainerStatusView): runtime.v1.IContainerStatus {
  return {
    id: v.id,
    metadata: { name: v.name, attempt: v.attempt },
    state: stateToWire(v.state),
    createdAt: v.createdAtNs,
    startedAt: v.startedAtNs,
    finishedAt: v.finishedAtNs,
    exitCode: v.exitCode,
    image: { image: v.image.name },
    imageRef: v.image.ref,
    imageId: v.image.id,
    reason: v.reason,
    message: v.message,
    labels: v.labels,
    annotations: v.annotations,
    mounts: v.mounts.map(mountToWire),
    logPath: v.logPath,
    resources: v.resources ? { linux: resourcesToWire(v.resources) } : undefined,
    user: { linux: { uid: v.user.uid, gid: v.user.gid, supplementalGroups: v.user.supplementalGroups } },
    stopSignal: stopSignalToWire(v.stopSignal),
  };
}

/** A ContainerStatus message and its encoding (the message bytes, without a field tag). */
export type EncodedContainerStatus = EncodedMessage<runtime.v1.IContainerStatus>;

/** The ContainerStatus of `v`, converted and encoded once per frozen view (cri/pre-encoded.ts encodedPerView). */
export const encodedStatusOf: (v: ContainerStatusView) => EncodedContainerStatus = encodedPerView(statusToWire, runtime.v1.ContainerStatus);

/** The short Container message of ListContainers. */
export function containerToWire(v: ContainerStatusView): runtime.v1.IContainer {
  return {
    id: v.id,
    podSandboxId: v.podSandboxId,
    metadata: { name: v.name, attempt: v.attempt },
    image: { image: v.image.name },
    imageRef: v.image.ref,
    imageId: v.image.id,
    state: stateToWire(v.state),
    createdAt: v.createdAtNs,
    labels: v.labels,
    annotations: v.annotations,
  };
}

/** The Container of `v` for ListContainers, converted and encoded once per frozen view. */
export const encodedContainerOf: (v: ContainerStatusView) => EncodedMessage<runtime.v1.IContainer> = encodedPerView(containerToWire, runtime.v1.Container);
