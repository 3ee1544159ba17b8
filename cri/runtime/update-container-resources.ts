/** UpdateContainerResources: applies new Linux limits to the live cgroup and records them. */
import { InvalidArgumentError } from '../../common/errors';
import type { runtime } from '../api/generated/cri';
import type { CallContext } from '../handlers';
import type { ContainerHandlerDeps } from './container-handlers';
import { checkResources } from '../../runtime/spec/resources';
import { resourcesFromWire } from './container-request-convert';

/** Handler for UpdateContainerResources. */
export function updateContainerResources(deps: ContainerHandlerDeps) {
  return async (request: runtime.v1.IUpdateContainerResourcesRequest, _call: CallContext): Promise<runtime.v1.IUpdateContainerResourcesResponse> => {
    if (!request.containerId) throw new InvalidArgumentError('container_id is required');
    const resources = resourcesFromWire(request.linux);
    if (!resources) throw new InvalidArgumentError('linux resources are required');
    checkResources(resources); // before the lookup: a malformed request is InvalidArgument for any id
    await deps.containers.updateContainerResources(request.containerId, resources);
    return {};
  };
}
