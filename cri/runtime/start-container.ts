/** StartContainer: runs the created container's process. */
import { InvalidArgumentError } from '../../common/errors';
import type { runtime } from '../api/generated/cri';
import type { CallContext } from '../handlers';
import type { ContainerHandlerDeps } from './container-handlers';

/** Handler for StartContainer. */
export function startContainer(deps: ContainerHandlerDeps) {
  return async (request: runtime.v1.IStartContainerRequest, _call: CallContext): Promise<runtime.v1.IStartContainerResponse> => {
    if (!request.containerId) throw new InvalidArgumentError('container_id is required');
    await deps.containers.startContainer(request.containerId);
    return {};
  };
}
