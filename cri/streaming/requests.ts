/**
 * What a streaming URL stands for: the validated Exec/Attach/PortForward request, stored under a
 * token until the client connects.
 */

export interface ExecSessionRequest {
  kind: 'exec';
  containerId: string;
  cmd: string[];
  tty: boolean;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}

export interface AttachSessionRequest {
  kind: 'attach';
  containerId: string;
  tty: boolean;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}

export interface PortForwardSessionRequest {
  kind: 'portforward';
  podSandboxId: string;
  /** Ports the caller named; empty = any port the client asks for. */
  ports: number[];
}

export type SessionRequest = ExecSessionRequest | AttachSessionRequest | PortForwardSessionRequest;
export type RemoteCommandRequest = ExecSessionRequest | AttachSessionRequest;
