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
      let status: ContainerStatusView;
      try {
        status = deps.containers.statusView(e.containerId);
      } catch {
        return; // gone meanwhile: nothing to prepare
      }
      if (Object.isFrozen(status)) answerOf(status);
    });
  });
  // Answered synchronously unless verbose (the OCI spec is read from the bundle).
  return (request: runtime.v1.IContainerStatusRequest, _call: CallContext): runtime.v1.IContainerStatusResponse | Promise<runtime.v1.IContainerStatusResponse> => {
    if (!request.containerId) throw new InvalidArgumentError('container_id is required');
    if (request.verbose) return verboseStatus(deps, request.containerId);
    const status = deps.containers.statusView(request.containerId);
    return Object.isFrozen(status) ? answerOf(status) : { status: statusToWire(status), info: {} };
  };
}

async function verboseStatus(deps: ContainerHandlerDeps, containerId: string): Promise<runtime.v1.IContainerStatusResponse> {
  const { status, info } = await deps.containers.containerStatus(containerId, true);
  return { status: statusToWire(status), info };
}
