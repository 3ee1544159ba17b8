/** StopPodSandbox: idempotent, also for ids that are already gone (see PodManager.stopPodSandbox). */
import { InvalidArgumentError } from '../../common/errors';
import { runtime } from '../api/generated/cri';
import type { CallContext } from '../handlers';
import type { PodHandlerDeps } from './pod-handlers';

/** Handler for StopPodSandbox. */
export function stopPodSandbox(deps: PodHandlerDeps) {
  return async (request: runtime.v1.IStopPodSandboxRequest, _call: CallContext): Promise<runtime.v1.IStopPodSandboxResponse> => {
    if (!request.podSandboxId) throw new InvalidArgumentError('pod_sandbox_id: is required');
    await deps.pods.stopPodSandbox(request.podSandboxId);
    return {};
  };
}
