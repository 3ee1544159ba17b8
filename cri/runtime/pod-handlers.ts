/**
 * The PodSandbox RPCs (RunPodSandbox, StopPodSandbox, RemovePodSandbox, PodSandboxStatus,
 * ListPodSandbox, UpdatePodSandboxResources) as one CriHandlers map for the daemon to merge. `PodSandboxService` is the narrow
 * interface these handlers need; pod/PodManager implements it.
 */
import type { CriHandlers } from '../handlers';
import type { PodCgroupResources } from '../../pod/pod-resources';
import type { PodSandboxConfigInput, SandboxFilter, SandboxInfo, SandboxStatusView } from '../../pod/types';
import { listPodSandbox } from './list-pod-sandbox';
import { podSandboxStatus } from './pod-sandbox-status';
import { removePodSandbox } from './remove-pod-sandbox';
import { runPodSandbox } from './run-pod-sandbox';
import { stopPodSandbox } from './stop-pod-sandbox';
import { updatePodSandboxResources } from './update-pod-sandbox-resources';
import type { ContainerEventListener } from '../../runtime/container-events';
import type { ContainerStatusView } from '../../runtime/container-view';

/** What the pod handlers call (implemented by PodManager). */
export interface PodSandboxService {
  runPodSandbox(config: PodSandboxConfigInput, runtimeHandler: string | null | undefined): Promise<string>;
  stopPodSandbox(idOrPrefix: string): Promise<void>;
  removePodSandbox(idOrPrefix: string): Promise<void>;
  /** Throws NotFoundError for an unknown id. */
  podSandboxStatus(idOrPrefix: string): SandboxStatusView;
  listPodSandboxes(filter?: SandboxFilter): SandboxInfo[];
  /** Throws NotFoundError for an unknown id; a pod that is not ready is a successful no-op. */
  updatePodSandboxResources(idOrPrefix: string, resources: PodCgroupResources): Promise<unknown>;
  /** Sandbox lifecycle events (container id = sandbox id), when the service emits them; returns the unsubscribe function. */
  onEvent?(listener: ContainerEventListener): () => void;
}

/** Dependencies of the pod handlers. */
export interface PodHandlerDeps {
  pods: PodSandboxService;
  /** The pod's containers, for PodSandboxStatusResponse.containers_statuses (kubelet's evented PLEG reads them). */
  containerStatuses?(podSandboxId: string): ContainerStatusView[];
  /** Clock of PodSandboxStatusResponse.timestamp (ns since the epoch); tests pass a fixed one. */
  nowNs?(): number;
}

/** The pod RPC handlers. */
export function podSandboxHandlers(deps: PodHandlerDeps): CriHandlers {
  return {
    RunPodSandbox: runPodSandbox(deps),
    StopPodSandbox: stopPodSandbox(deps),
    RemovePodSandbox: removePodSandbox(deps),
    PodSandboxStatus: podSandboxStatus(deps),
    ListPodSandbox: listPodSandbox(deps),
    UpdatePodSandboxResources: updatePodSandboxResources(deps),
  };
}
