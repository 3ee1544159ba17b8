/** ReopenContainerLog: kubelet rotated the log and asks conmon to reopen it. */
import { InvalidArgumentError } from '../../common/errors';
import type { runtime } from '../api/generated/cri';
import type { CallContext } from '../handlers';
import type { ContainerHandlerDeps } from './container-handlers';

/** Handler for ReopenContainerLog. */
export function reopenContainerLog(deps: ContainerHandlerDeps) {
  return async (request: runtime.v1.IReopenContainerLogRequest, _call: CallContext): Promise<runtime.v1.IReopenContainerLogResponse> => {
    if (!request.containerId) throw new InvalidArgumentError('container_id is required');
    await deps.containers.reopenContainerLog(request.containerId);
    return {};
  };
}
