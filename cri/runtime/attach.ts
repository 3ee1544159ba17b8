/**
 * Attach: validates the request and returns a streaming URL; the client is connected to the
 * container's stdio (conmon's attach socket) when it connects.
 */
import { InvalidArgumentError } from '../../common/errors';
import type { runtime } from '../api/generated/cri';
import type { CallContext } from '../handlers';
import { validateStreamFlags } from './exec';
import type { StreamingHandlerDeps } from './streaming-handlers';

/** Handler for Attach. */
export function attach(deps: StreamingHandlerDeps) {
  return async (request: runtime.v1.IAttachRequest, _call: CallContext): Promise<runtime.v1.IAttachResponse> => {
    if (!request.containerId) throw new InvalidArgumentError('container_id is required');
    validateStreamFlags(request);
    await deps.targets?.checkContainerRunning?.(request.containerId);
    const url = deps.urls.getAttachUrl({
      containerId: request.containerId,
      tty: !!request.tty,
      stdin: !!request.stdin,
      stdout: !!request.stdout,
      stderr: !!request.stderr,
    });
    return { url };
  };
}
