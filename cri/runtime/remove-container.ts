/** RemoveContainer: kills if running, deletes everything; idempotent. */
import { InvalidArgumentError } from '../../common/errors';
import type { runtime } from '../api/generated/cri';
import type { CallContext } from '../handlers';
import type { ContainerHandlerDeps } from './container-handlers';

/** Handler for RemoveContainer. */
export function removeContainer(deps: ContainerHandlerDeps) {
  return async (request: runtime.v1.IRemoveContainerRequest, _call: CallContext): Promise<runtime.v1.IRemoveContainerResponse> => {
    if (!request.containerId) throw new InvalidArgumentError('container_id is required');
    await deps.containers.removeContainer(request.containerId);
    return {};
  };
}
