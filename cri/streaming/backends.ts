/**
 * The narrow interfaces the streaming server needs from the layers below. The container layer
 * (runtime/) implements ExecBackend and AttachBackend with runc exec / conmon's attach socket; the
 * pod layer implements PortForwardBackend with a socket opened inside the pod's network namespace
 * (native connectInNetns). The server never knows how.
 */
import type { Duplex, Readable, Writable } from 'node:stream';

/** A terminal size in character cells. */
export interface TerminalSize {
  width: number;
  height: number;
}

/** The client's streams for one exec/attach session; absent streams were not requested. */
export interface SessionIo {
  /** Bytes the client types; ends when the client half-closes stdin (or goes away). */
  stdin?: Readable;
  /** Where the process's stdout goes (and, under tty, the merged stdout+stderr). */
  stdout?: Writable;
  /** Where stderr goes; never set under tty (the terminal merges it into stdout). */
  stderr?: Writable;
  /** True when the client asked for a terminal. */
  tty: boolean;
  /** Terminal sizes sent by the client, in order; ends with the session. Only under tty. */
  resize?: AsyncIterable<TerminalSize>;
}

/** Runs commands in containers for Exec. */
export interface ExecBackend {
  /**
   * Runs `cmd` in the container with the client's streams and resolves with its exit code once
   * it exits and its output is written. `signal` aborts when the client goes away: the process
   * must be killed then. Rejects with a typed error (NotFound, FailedPrecondition, Runtime…).
   */
  exec(containerId: string, cmd: string[], io: SessionIo, signal: AbortSignal): Promise<{ exitCode: number }>;
}

/** Connects a client to a running container's stdio for Attach. */
export interface AttachBackend {
  /**
   * Streams the container's output to `io` and the client's input to the container until the
   * container exits or `signal` aborts (client gone; the container keeps running). When the
   * container has `stdin_once`, the end of `io.stdin` closes the container's stdin.
   */
  attach(containerId: string, io: SessionIo, signal: AbortSignal): Promise<void>;
}

/** Opens TCP connections inside a pod's network namespace for PortForward. */
export interface PortForwardBackend {
  /** A connected socket to `port` on the pod's loopback; rejects when nobody listens. */
  connect(podSandboxId: string, port: number, signal: AbortSignal): Promise<Duplex>;
}

/** All three backends; a missing one makes its requests fail with an error status. */
export interface StreamingBackends {
  exec?: ExecBackend;
  attach?: AttachBackend;
  portForward?: PortForwardBackend;
}
