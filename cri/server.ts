/**
 * The CRI gRPC server on a unix socket: berth's own HTTP/2 (cri/transport/) on each accepted
 * socket, routing to the CRI handlers. Any `:authority` is accepted, so old kubelet/crictl
 * (which send the socket path) are served like any other client.
 */
import * as net from 'node:net';
import { FailedPreconditionError } from '../common/errors';
import type { Logger } from '../common/logger';
import { CRI_METHODS, type CriHandlers } from './handlers';
import { buildCriRoutes, CRI_PACKAGE, type RpcObserver } from './rpc-dispatch';
import { Http2ServerConnection, type StreamAcceptor } from './transport/connection';
import { openGrpcCall } from './transport/grpc-call';
import { DEFAULT_LIMITS, type ConnectionLimits } from './transport/limits';
import type { Route } from './transport/server-call';
import { warmUp, type WarmUpRequest } from './transport/warm-up';
import { listenUnix, removeSocketFile } from './unix-socket';

export type { RpcObserver } from './rpc-dispatch';

/** Options of createCriServer. */
export interface CriServerOptions {
  handlers: CriHandlers;
  logger: Logger;
  observer?: RpcObserver;
  /** Largest request/response message in bytes (default 16 MiB, like kubelet's client). */
  maxMessageBytes?: number;
  /** Bounds against hostile clients (defaults: transport/limits.ts). */
  limits?: Partial<ConnectionLimits>;
}

/** A running (or ready to run) CRI server. */
export interface CriServer {
  /** Serves on `socketPath` (absolute); refuses a socket another process is serving. */
  listen(socketPath: string): Promise<void>;
  /** Stops accepting, lets running calls finish for up to `graceMs`, then cancels the rest. */
  shutdown(graceMs: number): Promise<void>;
  /**
   * Before listen: runs kubelet's first calls (Version, Status) `rounds` times through the whole
   * request path over an in-memory connection, so that V8 has optimized it when the first client
   * arrives (transport/warm-up.ts). The observer sees none of them. Resolves with the calls answered.
   */
  warmUp(rounds: number): Promise<number>;
}

/** Kubelet's first calls after it connects; neither reads nor changes any state but the daemon's own. */
const WARM_UP_REQUESTS: readonly WarmUpRequest[] = [
  { path: `/${CRI_PACKAGE}.RuntimeService/Version`, message: CRI_METHODS.Version.request.encode({ version: 'v1' }).finish() },
  { path: `/${CRI_PACKAGE}.RuntimeService/Status`, message: CRI_METHODS.Status.request.encode({}).finish() },
];

const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/** Creates the CRI server for `handlers`; every RPC of both services is registered. */
export function createCriServer(opts: CriServerOptions): CriServer {
  return new UnixCriServer(opts);
}

class UnixCriServer implements CriServer {
  private readonly logger: Logger;
  private readonly routes: Map<string, Route>;
  private readonly acceptor: StreamAcceptor = {
    openStream: (stream, headers, end, conn) => openGrpcCall(stream, headers, end, conn, this.routes, this.maxMessageBytes),
  };
  private readonly maxMessageBytes: number;
  private readonly limits: ConnectionLimits;
  private netServer: net.Server | undefined;
  private socketPath: string | undefined;
  private readonly connections = new Set<Http2ServerConnection>();
  private stopped = false;

  constructor(opts: CriServerOptions) {
    this.logger = opts.logger.child({ component: 'cri' });
    this.maxMessageBytes = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.routes = buildCriRoutes(opts.handlers, this.logger, this.maxMessageBytes, opts.observer && this.observedOnceListening(opts.observer));
  }

  /** `observer`, silent until the socket listens: warm-up calls are not the clients' calls. */
  private observedOnceListening(observer: RpcObserver): RpcObserver {
    return {
      observe: (service, method, code, seconds) => {
        if (this.netServer) observer.observe(service, method, code, seconds);
      },
      beginCall: observer.beginCall && ((service, method, metadata) => (this.netServer ? observer.beginCall?.(service, method, metadata) : undefined)),
    };
  }

  async warmUp(rounds: number): Promise<number> {
    if (this.netServer || this.stopped) throw new FailedPreconditionError('warm up the CRI server: only before it listens');
    return warmUp(this.acceptor, this.limits, WARM_UP_REQUESTS, rounds);
  }

  async listen(socketPath: string): Promise<void> {
    if (this.netServer) throw new FailedPreconditionError(`listen on ${socketPath}: the CRI server is already listening on ${this.socketPath}`);
    if (this.stopped) throw new FailedPreconditionError(`listen on ${socketPath}: the CRI server was shut down`);
    const netServer = net.createServer((socket) => this.accept(socket));
    netServer.on('error', (err) => this.logger.error('CRI socket error', { err }));
    await listenUnix(netServer, socketPath);
    this.netServer = netServer;
    this.socketPath = socketPath;
    this.logger.info('CRI server listening', { socket: socketPath });
  }

  private accept(socket: net.Socket): void {
    if (this.stopped) {
      socket.destroy();
      return;
    }
    socket.on('error', (err) => this.logger.debug('CRI connection error', { err }));
    const connection = new Http2ServerConnection(socket, this.acceptor, this.limits, (err) =>
      this.logger.warn('CRI connection dropped: HTTP/2 protocol error from client', { err }),
    );
    this.connections.add(connection);
    void connection.whenClosed().then(() => this.connections.delete(connection));
  }

  async shutdown(graceMs: number): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const netServer = this.netServer;
    const closed = netServer ? new Promise<void>((resolve) => netServer.close(() => resolve())) : Promise.resolve();
    const connections = [...this.connections];
    for (const connection of connections) connection.goAway();
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, graceMs))));
    await Promise.race([Promise.all(connections.map((c) => c.whenIdle())), graceOver]);
    clearTimeout(timer);
    for (const connection of this.connections) connection.destroy();
    await Promise.all([...this.connections].map((c) => c.whenClosed()));
    await closed;
    if (this.socketPath) await removeSocketFile(this.socketPath);
    this.logger.info('CRI server stopped', { socket: this.socketPath });
  }
}
