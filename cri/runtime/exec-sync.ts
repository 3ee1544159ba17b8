/**
 * ExecSync: runs a command in the container and returns its output and exit code. On timeout the
 * command is killed and the RPC fails with DEADLINE_EXCEEDED, which kubelet's probe code treats as
 * a probe timeout.
 */
import { InvalidArgumentError } from '../../common/errors';
import type { runtime } from '../api/generated/cri';
import type { CallContext } from '../handlers';
import type { ContainerHandlerDeps } from './container-handlers';
import { int64 } from './container-request-convert';

/** Handler for ExecSync. */
export function execSync(deps: ContainerHandlerDeps) {
  return async (request: runtime.v1.IExecSyncRequest, _call: CallContext): Promise<runtime.v1.IExecSyncResponse> => {
    if (!request.containerId) throw new InvalidArgumentError('container_id is required');
    if (!request.cmd || request.cmd.length === 0) throw new InvalidArgumentError('cmd is required');
    const timeout = int64(request.timeout as Parameters<typeof int64>[0]);
    if (timeout < 0) throw new InvalidArgumentError('timeout is negative');
    const r = await deps.containers.execSync(request.containerId, [...request.cmd], timeout);
    return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode };
  };
}
