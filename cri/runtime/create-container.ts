/** CreateContainer: converts the config and creates the container (a retry of the same name returns the same id). */
import { InvalidArgumentError } from '../../common/errors';
import type { runtime } from '../api/generated/cri';
import type { CallContext } from '../handlers';
import type { ContainerHandlerDeps } from './container-handlers';
import { containerConfigFromWire } from './container-request-convert';

/** Handler for CreateContainer. */
export function createContainer(deps: ContainerHandlerDeps) {
  return async (request: runtime.v1.ICreateContainerRequest, _call: CallContext): Promise<runtime.v1.ICreateContainerResponse> => {
    if (!request.podSandboxId) throw new InvalidArgumentError('pod_sandbox_id is required');
    const config = containerConfigFromWire(request.config);
    const containerId = await deps.containers.createContainer(request.podSandboxId, config);
    return { containerId };
  };
}
