/**
 * The Exec, Attach and PortForward RPCs as one CriHandlers map for the daemon to merge. They only
 * validate and hand back a single-use URL on the streaming server (cri/streaming/server.ts),
 * which does the actual work when the client connects.
 */
import type { CriHandlers } from '../handlers';
import type { AttachSessionRequest, ExecSessionRequest, PortForwardSessionRequest } from '../streaming/requests';
import { attach } from './attach';
import { exec } from './exec';
import { portForward } from './port-forward';

/** Mints streaming URLs (implemented by cri/streaming StreamingServer). */
export interface StreamingUrlSource {
  getExecUrl(req: Omit<ExecSessionRequest, 'kind'>): string;
  getAttachUrl(req: Omit<AttachSessionRequest, 'kind'>): string;
  getPortForwardUrl(req: Omit<PortForwardSessionRequest, 'kind'>): string;
}

/**
 * Optional checks that the target exists and can stream, so a bad id fails the RPC (NOT_FOUND /
 * FAILED_PRECONDITION) instead of the later connection. Implemented by the container and pod
 * layers; each throws NotFoundError or FailedPreconditionError.
 */
export interface StreamingTargets {
  checkContainerRunning?(containerId: string): void | Promise<void>;
  checkSandboxReady?(podSandboxId: string): void | Promise<void>;
}

export interface StreamingHandlerDeps {
  urls: StreamingUrlSource;
  targets?: StreamingTargets;
}

/** The streaming RPC handlers. */
export function streamingHandlers(deps: StreamingHandlerDeps): CriHandlers {
  return {
    Exec: exec(deps),
    Attach: attach(deps),
    PortForward: portForward(deps),
  };
}
