/**
 * Runs one exec/attach session against its backend, whatever the wire protocol, and turns the
 * outcome into the Status kubelet would report.
 */
import type { Writable } from 'node:stream';
import { describeError } from '../../common/errors';
import type { Logger } from '../../common/logger';
import type { SessionIo, StreamingBackends } from './backends';
import { internalErrorStatus, nonZeroExitStatus, successStatus, type K8sStatus } from './k8s-status';
import type { RemoteCommandRequest } from './requests';

/** Runs the session; never throws (failures become an InternalError status). */
export async function runRemoteCommand(
  request: RemoteCommandRequest,
  io: SessionIo,
  backends: StreamingBackends,
  signal: AbortSignal,
  logger: Logger,
): Promise<K8sStatus> {
  try {
    if (request.kind === 'exec') {
      if (!backends.exec) return internalErrorStatus('exec is not supported by this runtime');
      const { exitCode } = await backends.exec.exec(request.containerId, request.cmd, io, signal);
      return exitCode === 0 ? successStatus() : nonZeroExitStatus(exitCode);
    }
    if (!backends.attach) return internalErrorStatus('attach is not supported by this runtime');
    await backends.attach.attach(request.containerId, io, signal);
    return successStatus();
  } catch (err) {
    const what = request.kind === 'exec' ? 'executing command in container' : 'attaching to container';
    const message = `error ${what}: ${describeError(err)}`;
    logger.warn('streaming session failed', { container: request.containerId, kind: request.kind, error: message });
    return internalErrorStatus(message);
  }
}

/** Ends a writable and resolves when it finished (or failed: the client may be gone). */
export function endWritable(w: Writable | undefined): Promise<void> {
  if (!w || w.writableFinished || w.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => resolve();
    w.once('finish', done);
    w.once('close', done);
    w.once('error', done);
    w.end();
  });
}
