/** ListContainerStats: stats of the created/running containers matching the filter. */
import { runtime } from '../api/generated/cri';
import type { CallContext } from '../handlers';
import type { ContainerHandlerDeps } from './container-handlers';
import { statsToWire } from './container-stats-convert';
import { slicedRepeatedAnswer } from './sliced-encode';

/** Handler for ListContainerStats. */
export function listContainerStats(deps: ContainerHandlerDeps) {
  return async (request: runtime.v1.IListContainerStatsRequest, _call: CallContext): Promise<runtime.v1.IListContainerStatsResponse> => {
    const f = request.filter;
    const stats = await deps.containers.listContainerStats(
      f ? { id: f.id || undefined, podSandboxId: f.podSandboxId || undefined, labelSelector: f.labelSelector ?? undefined } : undefined,
    );
    return slicedRepeatedAnswer(stats.map(statsToWire), (w) => runtime.v1.ContainerStats.encode(w).finish(), (items) => ({ stats: items }));
  };
}
