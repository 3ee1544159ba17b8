/**
 * ContainerStatus: served from memory; verbose adds the pid and the OCI spec as JSON. The plain
 * answer is built and encoded once per status view (a new container state is a new view) and
 * sent as those bytes until the state changes.
 */
import { InvalidArgumentError } from '../../common/errors';
import type { ContainerStatusView } from '../../runtime/container-view';
import { runtime } from '../api/generated/cri';
import type { CallContext } from '../handlers';
import { withEncoding } from '../pre-encoded';
import type { ContainerHandlerDeps } from './container-handlers';
import { encodedStatusOf, statusToWire } from './container-response-convert';

const NO_INFO: Record<string, string> = Object.freeze({});

/** Handler for ContainerStatus. */
export function containerStatus(deps: ContainerHandlerDeps) {
  const answers = new WeakMap<ContainerStatusView, runtime.v1.IContainerStatusResponse>();
  return async (request: runtime.v1.IContainerStatusRequest, _call: CallContext): Promise<runtime.v1.IContainerStatusResponse> => {
    if (!request.containerId) throw new InvalidArgumentError('container_id is required');
    const verbose = request.verbose === true;
    const { status, info } = await deps.containers.containerStatus(request.containerId, verbose);
    if (verbose || !Object.isFrozen(status)) return { status: statusToWire(status), info };
    let answer = answers.get(status);
    if (!answer) {
      const response = Object.freeze({ status: encodedStatusOf(status).wire, info: NO_INFO });
      answer = withEncoding(response, runtime.v1.ContainerStatusResponse.encode(response).finish());
      answers.set(status, answer);
    }
    return answer;
  };
}
