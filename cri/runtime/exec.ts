/**
 * Exec: validates the request (kubelet's rules: some stream requested, no stderr under tty) and
 * returns a streaming URL; the command runs when the client connects to it.
 */
import { InvalidArgumentError } from '../../common/errors';
import type { runtime } from '../api/generated/cri';
import type { CallContext } from '../handlers';
import type { StreamingHandlerDeps } from './streaming-handlers';

/** Checks the stream flags shared by Exec and Attach. */
export function validateStreamFlags(r: { tty?: boolean | null; stdin?: boolean | null; stdout?: boolean | null; stderr?: boolean | null }): void {
  if (r.tty && r.stderr) throw new InvalidArgumentError('tty and stderr cannot both be true');
  if (!r.stdin && !r.stdout && !r.stderr) throw new InvalidArgumentError('one of stdin, stdout, or stderr must be set');
}

/** Handler for Exec. */
export function exec(deps: StreamingHandlerDeps) {
  return async (request: runtime.v1.IExecRequest, _call: CallContext): Promise<runtime.v1.IExecResponse> => {
    if (!request.containerId) throw new InvalidArgumentError('container_id is required');
    if (!request.cmd || request.cmd.length === 0) throw new InvalidArgumentError('cmd is required');
    validateStreamFlags(request);
    await deps.targets?.checkContainerRunning?.(request.containerId);
    const url = deps.urls.getExecUrl({
      containerId: request.containerId,
      cmd: [...request.cmd],
      tty: !!request.tty,
      stdin: !!request.stdin,
      stdout: !!request.stdout,
      stderr: !!request.stderr,
    });
    return { url };
  };
}
