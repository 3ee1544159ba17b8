/** ContainerStatus: served from memory; verbose adds the pid and the OCI spec as JSON. */
import { InvalidArgumentError } from '../../common/errors';
import type { runtime } from '../api/generated/cri';
import type { CallContext } from '../handlers';
import type { ContainerHandlerDeps } from './container-handlers';
import { statusToWire } from './container-response-convert';

/** Handler for ContainerStatus. */
export function containerStatus(deps: ContainerHandlerDeps) {
  return async (request: runtime.v1.IContainerStatusRequest, _call: CallContext): Promise<runtime.v1.IContainerStatusResponse> => {
    if (!request.containerId) throw new InvalidArgumentError('container_id is required');
    const { status, info } = await deps.containers.containerStatus(request.containerId, request.verbose === true);
    return { status: statusToWire(status), info };
  };
}
