/**
 * Small adapters between the layers' narrow interfaces, kept out of the layers themselves so
 * none of them imports another (docs/contributing.md, "Layers"): the streaming server asks the pod layer for a
 * pod's netns and both layers whether a target can stream; the container layer's event stream
 * wants the pod's CRI status.
 */
import { FailedPreconditionError, NotFoundError } from '../common/errors';
import type { runtime } from '../cri/api/generated/cri';
import { statusOf } from '../cri/runtime/pod-sandbox-status';
import type { PodNetnsLookup } from '../cri/streaming/netns-port-forward';
import type { StreamingTargets } from '../cri/runtime/streaming-handlers';
import type { SandboxInfo, SandboxStatusView } from '../pod/types';

/** What the adapters read of the pod layer (PodManager fits). */
export interface SandboxSource {
  getSandbox(id: string): SandboxInfo | undefined;
  podSandboxStatus(idOrPrefix: string): SandboxStatusView;
}

/** What the adapters read of the container layer (ContainerManager fits). */
export interface ContainerSource {
  /** NotFoundError for an unknown id. */
  statusView(idOrPrefix: string): { id: string; state: string };
}

/** The pinned netns of a ready pod, `null` for host-network pods (for port-forward). */
export function podNetnsLookup(pods: SandboxSource): PodNetnsLookup {
  return {
    netnsPathOf(podSandboxId: string): string | null {
      const pod = readySandbox(pods, podSandboxId);
      if (pod.namespaceModes.network === 'node') return null;
      const net = pod.namespacePaths.net;
      if (!net) throw new FailedPreconditionError(`pod sandbox ${podSandboxId} has no network namespace`);
      return net;
    },
  };
}

/** Checks made when Exec/Attach/PortForward are asked for, so a bad id fails the RPC itself. */
export function streamingTargets(pods: SandboxSource, containers: ContainerSource): StreamingTargets {
  return {
    checkContainerRunning(containerId: string): void {
      const c = containers.statusView(containerId);
      if (c.state !== 'running') throw new FailedPreconditionError(`container ${containerId} is not running (state ${c.state})`);
    },
    checkSandboxReady(podSandboxId: string): void {
      readySandbox(pods, podSandboxId);
    },
  };
}

/** The CRI status of a pod for container events; undefined once the pod is gone. */
export function podStatusForEvents(pods: SandboxSource): (podSandboxId: string) => runtime.v1.IPodSandboxStatus | undefined {
  return (podSandboxId) => {
    if (!pods.getSandbox(podSandboxId)) return undefined;
    try {
      return statusOf(pods.podSandboxStatus(podSandboxId));
    } catch {
      return undefined; // removed between the two calls
    }
  };
}

function readySandbox(pods: SandboxSource, podSandboxId: string): SandboxInfo {
  const pod = pods.getSandbox(podSandboxId);
  if (!pod) throw new NotFoundError(`pod sandbox ${podSandboxId} not found`);
  if (pod.state !== 'ready') throw new FailedPreconditionError(`pod sandbox ${podSandboxId} is not ready`);
  return pod;
}
