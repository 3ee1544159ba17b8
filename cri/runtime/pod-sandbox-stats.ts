/** PodSandboxStats: the pod cgroup's usage, its network counters and its containers' stats. */
import { InvalidArgumentError } from '../../common/errors';
import type { runtime } from '../api/generated/cri';
import type { CallContext } from '../handlers';
import type { ContainerHandlerDeps } from './container-handlers';
import { podStatsInput, podStatsToWire, type PodStatsSource } from './pod-stats-convert';

/** Handler for PodSandboxStats. */
export function podSandboxStats(deps: ContainerHandlerDeps & { pods: PodStatsSource }) {
  return async (request: runtime.v1.IPodSandboxStatsRequest, _call: CallContext): Promise<runtime.v1.IPodSandboxStatsResponse> => {
    if (!request.podSandboxId) throw new InvalidArgumentError('pod_sandbox_id is required');
    const pod = podStatsInput(deps.pods.podSandboxStatus(request.podSandboxId));
    return { stats: podStatsToWire(await deps.containers.podStats(pod)) };
  };
}
