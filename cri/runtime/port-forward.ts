/**
 * PortForward: validates the sandbox id and ports and returns a streaming URL; connections are
 * opened inside the pod's network namespace when the client asks for them.
 */
import { InvalidArgumentError } from '../../common/errors';
import type { runtime } from '../api/generated/cri';
import type { CallContext } from '../handlers';
import type { StreamingHandlerDeps } from './streaming-handlers';

/** Handler for PortForward. */
export function portForward(deps: StreamingHandlerDeps) {
  return async (request: runtime.v1.IPortForwardRequest, _call: CallContext): Promise<runtime.v1.IPortForwardResponse> => {
    if (!request.podSandboxId) throw new InvalidArgumentError('pod_sandbox_id is required');
    const ports = [...(request.port ?? [])];
    for (const p of ports) {
      if (!Number.isInteger(p) || p < 1 || p > 65535) throw new InvalidArgumentError(`port ${p} is out of range 1-65535`);
    }
    await deps.targets?.checkSandboxReady?.(request.podSandboxId);
    return { url: deps.urls.getPortForwardUrl({ podSandboxId: request.podSandboxId, ports }) };
  };
}
