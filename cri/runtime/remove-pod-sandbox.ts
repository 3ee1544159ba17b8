/** RemovePodSandbox: idempotent; an unknown id succeeds (api.proto: "must not return an error if the sandbox has already been removed"). */
import { InvalidArgumentError } from '../../common/errors';
import { runtime } from '../api/generated/cri';
import type { CallContext } from '../handlers';
import type { PodHandlerDeps } from './pod-handlers';

/** Handler for RemovePodSandbox. */
export function removePodSandbox(deps: PodHandlerDeps) {
  return async (request: runtime.v1.IRemovePodSandboxRequest, _call: CallContext): Promise<runtime.v1.IRemovePodSandboxResponse> => {
    if (!request.podSandboxId) throw new InvalidArgumentError('pod_sandbox_id: is required');
    await deps.pods.removePodSandbox(request.podSandboxId);
    return {};
  };
}
