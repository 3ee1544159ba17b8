/** ContainerStats: CPU, memory and writable-layer usage of one container. */
import { InvalidArgumentError } from '../../common/errors';
import type { runtime } from '../api/generated/cri';
import type { CallContext } from '../handlers';
import type { ContainerHandlerDeps } from './container-handlers';
import { statsToWire } from './container-stats-convert';

/** Handler for ContainerStats. */
export function containerStats(deps: ContainerHandlerDeps) {
  return async (request: runtime.v1.IContainerStatsRequest, _call: CallContext): Promise<runtime.v1.IContainerStatsResponse> => {
    if (!request.containerId) throw new InvalidArgumentError('container_id is required');
    return { stats: statsToWire(await deps.containers.containerStats(request.containerId)) };
  };
}
