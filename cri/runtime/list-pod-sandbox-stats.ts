/** ListPodSandboxStats: PodSandboxStats of every pod matching the filter, in one collection. */
import { errorKindOf } from '../../common/errors';
import type { PodStatsInput } from '../../runtime/pod-stats';
import { runtime } from '../api/generated/cri';
import type { CallContext } from '../handlers';
import type { ContainerHandlerDeps } from './container-handlers';
import { podStatsInput, podStatsToWire, type PodStatsSource } from './pod-stats-convert';
import { slicedRepeatedAnswer } from './sliced-encode';

/** Handler for ListPodSandboxStats. */
export function listPodSandboxStats(deps: ContainerHandlerDeps & { pods: PodStatsSource }) {
  return async (request: runtime.v1.IListPodSandboxStatsRequest, _call: CallContext): Promise<runtime.v1.IListPodSandboxStatsResponse> => {
    const f = request.filter;
    const pods = deps.pods.listPodSandboxes(f ? { id: f.id || undefined, labelSelector: f.labelSelector ?? undefined } : undefined);
    const inputs: PodStatsInput[] = [];
    for (const { id } of pods) {
      try {
        inputs.push(podStatsInput(deps.pods.podSandboxStatus(id)));
      } catch (err) {
        if (errorKindOf(err) !== 'NotFound') throw err; // removed meanwhile: skip it
      }
    }
    const stats = await deps.containers.listPodStats(inputs);
    return slicedRepeatedAnswer(stats.map(podStatsToWire), (w) => runtime.v1.PodSandboxStats.encode(w).finish(), (items) => ({ stats: items }));
  };
}
