/**
 * The container RPCs as one CriHandlers map for the daemon to merge. `ContainerService` is the
 * narrow interface these handlers need; runtime/ContainerManager implements it.
 */
import type { ContainerEventListener } from '../../runtime/container-events';
import type { ContainerStatsView } from '../../runtime/container-stats';
import type { ContainerFilter, ContainerStatusView } from '../../runtime/container-view';
import type { PodStatsInput, PodStatsView } from '../../runtime/pod-stats';
import type { runtime } from '../api/generated/cri';
import type { ContainerConfigInput, LinuxResourcesInput } from '../../runtime/spec/inputs';
import type { CriHandlers } from '../handlers';
import { containerStats } from './container-stats';
import { containerStatus } from './container-status';
import { getContainerEvents } from './get-container-events';
import { listContainerStats } from './list-container-stats';
import { listPodSandboxStats } from './list-pod-sandbox-stats';
import { podSandboxStats } from './pod-sandbox-stats';
import type { PodStatsSource } from './pod-stats-convert';
import { createContainer } from './create-container';
import { execSync } from './exec-sync';
import { listContainers } from './list-containers';
import { removeContainer } from './remove-container';
import { reopenContainerLog } from './reopen-container-log';
import { startContainer } from './start-container';
import { stopContainer } from './stop-container';
import { updateContainerResources } from './update-container-resources';

/** What the container handlers call (implemented by runtime/ContainerManager). */
export interface ContainerService {
  createContainer(podSandboxId: string, config: ContainerConfigInput): Promise<string>;
  startContainer(id: string): Promise<void>;
  stopContainer(id: string, timeoutSeconds: number): Promise<void>;
  removeContainer(id: string): Promise<void>;
  /** NotFoundError for an unknown id. */
  containerStatus(id: string, verbose: boolean): Promise<{ status: ContainerStatusView; info: Record<string, string> }>;
  /** The plain status, from memory (NotFoundError for an unknown id). */
  statusView(id: string): ContainerStatusView;
  listContainers(filter?: ContainerFilter): ContainerStatusView[];
  /** DeadlineExceededError when the command outlives `timeoutSeconds`. */
  execSync(id: string, cmd: string[], timeoutSeconds: number): Promise<{ stdout: Buffer; stderr: Buffer; exitCode: number }>;
  updateContainerResources(id: string, resources: LinuxResourcesInput): Promise<void>;
  reopenContainerLog(id: string): Promise<void>;
  containerStats(id: string): Promise<ContainerStatsView>;
  listContainerStats(filter?: ContainerFilter): Promise<ContainerStatsView[]>;
  /** Stats of a pod (facts from the pod layer) with its containers' stats. */
  podStats(pod: PodStatsInput): Promise<PodStatsView>;
  /** Stats of many pods in one collection (ListPodSandboxStats). */
  listPodStats(pods: PodStatsInput[]): Promise<PodStatsView[]>;
  /** Subscribes to lifecycle events; returns the unsubscribe function. */
  onEvent(listener: ContainerEventListener): () => void;
}

/** Dependencies of the container handlers. */
export interface ContainerHandlerDeps {
  containers: ContainerService;
  /** The pod layer, for PodSandboxStats / ListPodSandboxStats (not registered without it). */
  pods?: PodStatsSource;
  /** The pod's status for GetContainerEvents (from the pod layer); omitted when absent. */
  podStatus?(podSandboxId: string): runtime.v1.IPodSandboxStatus | undefined;
  /** Sandbox lifecycle events (container id = sandbox id), merged into GetContainerEvents. */
  sandboxEvents?: { onEvent(listener: ContainerEventListener): () => void };
}

/** The container RPC handlers. */
export function containerHandlers(deps: ContainerHandlerDeps): CriHandlers {
  return {
    CreateContainer: createContainer(deps),
    StartContainer: startContainer(deps),
    StopContainer: stopContainer(deps),
    RemoveContainer: removeContainer(deps),
    ContainerStatus: containerStatus(deps),
    ListContainers: listContainers(deps),
    ExecSync: execSync(deps),
    UpdateContainerResources: updateContainerResources(deps),
    ReopenContainerLog: reopenContainerLog(deps),
    ContainerStats: containerStats(deps),
    ListContainerStats: listContainerStats(deps),
    GetContainerEvents: getContainerEvents(deps),
    ...(deps.pods ? { PodSandboxStats: podSandboxStats({ ...deps, pods: deps.pods }), ListPodSandboxStats: listPodSandboxStats({ ...deps, pods: deps.pods }) } : {}),
  };
}
