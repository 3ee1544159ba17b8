/** ListContainers: filters by id prefix, state, pod and labels, from memory. */
import type { ContainerFilter } from '../../runtime/container-view';
import type { runtime } from '../api/generated/cri';
import type { CallContext } from '../handlers';
import type { ContainerHandlerDeps } from './container-handlers';
import { containerToWire, stateFromWire } from './container-response-convert';

/** Handler for ListContainers. */
export function listContainers(deps: ContainerHandlerDeps) {
  return async (request: runtime.v1.IListContainersRequest, _call: CallContext): Promise<runtime.v1.IListContainersResponse> => {
    const f = request.filter;
    const filter: ContainerFilter | undefined = f
      ? {
          id: f.id || undefined,
          state: f.state ? stateFromWire(f.state.state) : undefined,
          podSandboxId: f.podSandboxId || undefined,
          labelSelector: f.labelSelector ?? undefined,
        }
      : undefined;
    return { containers: deps.containers.listContainers(filter).map(containerToWire) };
  };
}
