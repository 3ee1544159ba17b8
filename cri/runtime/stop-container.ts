/** StopContainer: stop signal, SIGKILL after `timeout` seconds; idempotent (also for unknown ids). */
import { InvalidArgumentError } from '../../common/errors';
import type { runtime } from '../api/generated/cri';
import type { CallContext } from '../handlers';
import type { ContainerHandlerDeps } from './container-handlers';
import { int64 } from './container-request-convert';

/** Handler for StopContainer. */
export function stopContainer(deps: ContainerHandlerDeps) {
  return async (request: runtime.v1.IStopContainerRequest, _call: CallContext): Promise<runtime.v1.IStopContainerResponse> => {
    if (!request.containerId) throw new InvalidArgumentError('container_id is required');
    const timeout = int64(request.timeout as Parameters<typeof int64>[0]);
    if (timeout < 0) throw new InvalidArgumentError('timeout is negative');
    await deps.containers.stopContainer(request.containerId, timeout);
    return {};
  };
}
