/**
 * The CRI gRPC server on a unix socket. Connections are accepted by a plain `net` server and
 * handed to grpc-js through a connection injector, each wrapped in a stream that rewrites the
 * HTTP/2 `:authority` of old clients (kubelet/crictl <= 1.29 send the socket path, which Node's
 * HTTP/2 layer rejects; see http2-authority-rewrite.ts and docs/architecture.md).
 */
import { Server, ServerCredentials, type ConnectionInjector } from '@grpc/grpc-js';
import * as net from 'node:net';
import { FailedPreconditionError } from '../common/errors';
import type { Logger } from '../common/logger';
import type { CriHandlers } from './handlers';
import { AuthorityRewriteStream } from './http2-authority-rewrite';
import { buildCriServices, type RpcObserver } from './rpc-dispatch';
import { listenUnix, removeSocketFile } from './unix-socket';

export type { RpcObserver } from './rpc-dispatch';

/** Options of createCriServer. */
export interface CriServerOptions {
  handlers: CriHandlers;
  logger: Logger;
  observer?: RpcObserver;
  /** Largest request/response message in bytes (default 16 MiB, like kubelet's client). */
  maxMessageBytes?: number;
}

/** A running (or ready to run) CRI server. */
export interface CriServer {
  /** Serves on `socketPath` (absolute); refuses a socket another process is serving. */
  listen(socketPath: string): Promise<void>;
  /** Stops accepting, lets running calls finish for up to `graceMs`, then cancels the rest. */
  shutdown(graceMs: number): Promise<void>;
}

const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/** Creates the CRI server for `handlers`; every RPC of both services is registered. */
export function createCriServer(opts: CriServerOptions): CriServer {
  return new UnixCriServer(opts);
}

class UnixCriServer implements CriServer {
  private readonly grpcServer: Server;
  private readonly logger: Logger;
  private injector: ConnectionInjector | undefined;
  private netServer: net.Server | undefined;
  private socketPath: string | undefined;
  private readonly connections = new Set<net.Socket>();
  private stopped = false;

  constructor(opts: CriServerOptions) {
    this.logger = opts.logger.child({ component: 'cri' });
    const max = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.grpcServer = new Server({
      'grpc.max_receive_message_length': max,
      'grpc.max_send_message_length': max,
      // channelz (gRPC's introspection service) is never served here; tracking it costs every call.
      'grpc.enable_channelz': 0,
    });
    for (const { definition, implementation } of buildCriServices(opts.handlers, this.logger, opts.observer)) {
      this.grpcServer.addService(definition, implementation);
    }
  }

  async listen(socketPath: string): Promise<void> {
    if (this.netServer) throw new FailedPreconditionError(`listen on ${socketPath}: the CRI server is already listening on ${this.socketPath}`);
    if (this.stopped) throw new FailedPreconditionError(`listen on ${socketPath}: the CRI server was shut down`);
    const injector = this.grpcServer.createConnectionInjector(ServerCredentials.createInsecure());
    const netServer = net.createServer((socket) => this.accept(socket, injector));
    netServer.on('error', (err) => this.logger.error('CRI socket error', { err }));
    await listenUnix(netServer, socketPath);
    this.injector = injector;
    this.netServer = netServer;
    this.socketPath = socketPath;
    this.logger.info('CRI server listening', { socket: socketPath });
  }

  private accept(socket: net.Socket, injector: ConnectionInjector): void {
    this.connections.add(socket);
    socket.once('close', () => this.connections.delete(socket));
    socket.on('error', (err) => this.logger.debug('CRI connection error', { err }));
    const wrapped = new AuthorityRewriteStream(socket, {
      onProtocolError: (err) => this.logger.warn('CRI connection dropped: malformed HTTP/2 from client', { err }),
    });
    injector.injectConnection(wrapped);
  }

  async shutdown(graceMs: number): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const netServer = this.netServer;
    const closed = netServer ? new Promise<void>((resolve) => netServer.close(() => resolve())) : Promise.resolve();
    // No injector.drain() here: it marks sessions closed, and tryShutdown then stops waiting for them.
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        this.grpcServer.forceShutdown();
        resolve();
      }, Math.max(0, graceMs));
      this.grpcServer.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
    this.injector?.destroy();
    for (const socket of this.connections) socket.destroy();
    await closed;
    if (this.socketPath) await removeSocketFile(this.socketPath);
    this.logger.info('CRI server stopped', { socket: this.socketPath });
  }
}
