/**
 * ContainerStatus: served from memory; verbose adds the pid and the OCI spec as JSON. The plain
 * answer is built and encoded once per status view (a new container state is a new view) and
 * sent as those bytes until the state changes. After each lifecycle event the answer for the new
 * state is built once the reply of the call that changed it has left (afterReply): the status
 * call that follows (kubelet asks after every change) then finds it.
 */
import { InvalidArgumentError } from '../../common/errors';
import type { ContainerStatusView } from '../../runtime/container-view';
import type { runtime } from '../api/generated/cri';
import type { CallContext } from '../handlers';
import { afterReply, withEncoding } from '../pre-encoded';
import type { ContainerHandlerDeps } from './container-handlers';
import { encodedStatusOf, statusToWire } from './container-response-convert';
import { singleField } from './wire-splice';

const NO_INFO: Record<string, string> = Object.freeze({});

/** Handler for ContainerStatus. */
export function containerStatus(deps: ContainerHandlerDeps) {
  const answers = new WeakMap<ContainerStatusView, runtime.v1.IContainerStatusResponse>();
  const answerOf = (status: ContainerStatusView): runtime.v1.IContainerStatusResponse => {
    let answer = answers.get(status);
    if (!answer) {
      const encoded = encodedStatusOf(status);
      answer = withEncoding(Object.freeze({ status: encoded.wire, info: NO_INFO }), singleField(/* status, length-delimited */ 10, encoded.bytes));
      answers.set(status, answer);
    }
    return answer;
  };
  deps.containers.onEvent((e) => {
    if (e.type === 'deleted') return;
    afterReply(() => {
      deps.containers.containerStatus(e.containerId, false).then(
        ({ status }) => void (Object.isFrozen(status) && answerOf(status)),
        () => undefined, // gone meanwhile: nothing to prepare
      );
    });
  });
  return async (request: runtime.v1.IContainerStatusRequest, _call: CallContext): Promise<runtime.v1.IContainerStatusResponse> => {
    if (!request.containerId) throw new InvalidArgumentError('container_id is required');
    const verbose = request.verbose === true;
    const { status, info } = await deps.containers.containerStatus(request.containerId, verbose);
    if (verbose || !Object.isFrozen(status)) return { status: statusToWire(status), info };
    return answerOf(status);
  };
}
