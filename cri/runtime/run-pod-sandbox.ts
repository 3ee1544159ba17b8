/** RunPodSandbox: validation and the sandbox itself live in pod/ (PodManager.runPodSandbox). */
import { InvalidArgumentError } from '../../common/errors';
import { runtime } from '../api/generated/cri';
import type { CallContext } from '../handlers';
import type { PodHandlerDeps } from './pod-handlers';

/** Handler for RunPodSandbox. The deadline is not passed down: a retry must find the finished pod. */
export function runPodSandbox(deps: PodHandlerDeps) {
  return async (request: runtime.v1.IRunPodSandboxRequest, call: CallContext): Promise<runtime.v1.IRunPodSandboxResponse> => {
    if (!request.config) throw new InvalidArgumentError('config: is required');
    const id = await deps.pods.runPodSandbox(request.config, request.runtimeHandler);
    call.logger.debug('RunPodSandbox done', { pod: id });
    return { podSandboxId: id };
  };
}
