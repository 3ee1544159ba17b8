/**
 * berth's streaming server: the URLs that Exec, Attach and PortForward return point here, kubelet
 * proxies `kubectl exec/attach/port-forward` to it and crictl connects directly. Routes are
 * `/exec/<token>`, `/attach/<token>`, `/portforward/<token>`; each token is single-use and lives
 * one minute (unknown, used or expired → 404). A connection upgrades either to SPDY/3.1
 * (X-Stream-Protocol-Version negotiation) or to WebSocket (Sec-WebSocket-Protocol).
 */
import { readFile } from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { WebSocketServer } from 'ws';
import { RuntimeError } from '../../common/errors';
import type { Logger } from '../../common/logger';
import type { StreamingBackends } from './backends';
import { PortForwardLimiter, type PortForwardLimits } from './port-forward-limits';
import type { AttachSessionRequest, ExecSessionRequest, PortForwardSessionRequest, SessionRequest } from './requests';
import { SpdySession } from './spdy/session';
import { SPDY_PORT_FORWARD_PROTOCOLS, serveSpdyPortForward } from './spdy-port-forward';
import { SPDY_REMOTE_COMMAND_PROTOCOLS, serveSpdyRemoteCommand } from './spdy-remote-command';
import { TokenStore } from './token-store';
import { portsFromQuery, serveWsPortForward, WS_PORT_FORWARD_PROTOCOLS } from './ws-port-forward';
import { serveWsRemoteCommand, WS_REMOTE_COMMAND_PROTOCOLS } from './ws-remote-command';

export interface StreamingServerOptions {
  backends: StreamingBackends;
  logger: Logger;
  /** Listen address; default 127.0.0.1 (the streaming server is not authenticated). */
  address?: string;
  /** Listen port; default 0 (ephemeral). */
  port?: number;
  /** Serve HTTPS with this certificate and key (PEM files). */
  tls?: { certFile: string; keyFile: string };
  /** Base of the returned URLs when clients must use another address (e.g. behind NAT). */
  baseUrl?: string;
  /** Token lifetime; default 60 s. */
  tokenTtlMs?: number;
  /** Pending tokens at most; default 1000. */
  maxInFlight?: number;
  /** How long a SPDY client may take to open its streams; default 30 s. */
  streamCreationTimeoutMs?: number;
  /** Connections idle this long are closed; default 4 h (kubelet's default). */
  idleTimeoutMs?: number;
  /** Port-forward connections open at once, per pod and in total; default DEFAULT_PORT_FORWARD_LIMITS. */
  portForwardLimits?: PortForwardLimits;
}

type Route = 'exec' | 'attach' | 'portforward';

/**
 * Largest WebSocket message accepted (ws buffers a whole message before handing it over; its
 * default is 100 MiB). Clients send what one read gave them: kubectl's copies use 32 KiB buffers.
 */
export const MAX_WS_MESSAGE_BYTES = 4 * 1024 * 1024;

export class StreamingServer {
  private readonly tokens: TokenStore;
  /** Made on the first WebSocket upgrade: `ws` is not loaded by a daemon that never streams over it. */
  private wss: WebSocketServer | undefined;
  private readonly chosenWsProtocol = new WeakMap<http.IncomingMessage, string>();
  private readonly connections = new Set<Duplex>();
  private readonly portForwardLimiter: PortForwardLimiter;
  /** Upgraded sessions open now, by route (a metrics gauge reads them). */
  private readonly sessions: Record<Route, number> = { exec: 0, attach: 0, portforward: 0 };
  private base = '';

  private constructor(
    private readonly server: http.Server | https.Server,
    private readonly opts: StreamingServerOptions,
  ) {
    this.tokens = new TokenStore({ ttlMs: opts.tokenTtlMs, maxInFlight: opts.maxInFlight });
    this.portForwardLimiter = new PortForwardLimiter(opts.portForwardLimits);
    server.on('request', (req, res) => this.onPlainRequest(req, res));
    server.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket as Socket, head));
    server.on('connection', (socket: Socket) => {
      this.connections.add(socket);
      socket.on('close', () => this.connections.delete(socket));
    });
    server.on('secureConnection', (socket: Socket) => {
      this.connections.add(socket);
      socket.on('close', () => this.connections.delete(socket));
    });
  }

  /** Starts listening; rejects with RuntimeError when the address cannot be bound. */
  static async start(opts: StreamingServerOptions): Promise<StreamingServer> {
    let server: http.Server | https.Server;
    if (opts.tls) {
      const [cert, key] = await Promise.all([readFile(opts.tls.certFile), readFile(opts.tls.keyFile)]).catch((cause) => {
        throw new RuntimeError('read streaming server TLS certificate and key', { cause });
      });
      server = https.createServer({ cert, key });
    } else {
      server = http.createServer();
    }
    const s = new StreamingServer(server, opts);
    const address = opts.address ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', (cause) => reject(new RuntimeError(`listen for streaming on ${address}:${opts.port ?? 0}`, { cause })));
      server.listen(opts.port ?? 0, address, () => resolve());
    });
    const bound = server.address() as AddressInfo;
    const host = address === '0.0.0.0' || address === '::' ? '127.0.0.1' : address;
    const hostPart = host.includes(':') ? `[${host}]` : host;
    s.base = (opts.baseUrl ?? `${opts.tls ? 'https' : 'http'}://${hostPart}:${bound.port}`).replace(/\/+$/, '');
    opts.logger.info('streaming server listening', { url: s.base });
    return s;
  }

  /** The base URL clients are sent to. */
  get url(): string {
    return this.base;
  }

  /** The port actually bound. */
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** A single-use URL for an Exec request (already validated by the RPC handler). */
  getExecUrl(req: Omit<ExecSessionRequest, 'kind'>): string {
    return this.urlFor('exec', { kind: 'exec', ...req, cmd: [...req.cmd] });
  }

  /** A single-use URL for an Attach request. */
  getAttachUrl(req: Omit<AttachSessionRequest, 'kind'>): string {
    return this.urlFor('attach', { kind: 'attach', ...req });
  }

  /** A single-use URL for a PortForward request. */
  getPortForwardUrl(req: Omit<PortForwardSessionRequest, 'kind'>): string {
    return this.urlFor('portforward', { kind: 'portforward', ...req, ports: [...req.ports] });
  }

  private webSocketServer(): WebSocketServer {
    if (!this.wss) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: see the field
      const { WebSocketServer: Server } = require('ws') as typeof import('ws');
      this.wss = new Server({ noServer: true, perMessageDeflate: false, maxPayload: MAX_WS_MESSAGE_BYTES, handleProtocols: (_p, req) => this.chosenWsProtocol.get(req) ?? false });
    }
    return this.wss;
  }

  /** Stops accepting, closes every session. */
  async close(): Promise<void> {
    for (const c of this.connections) c.destroy();
    for (const client of this.wss?.clients ?? []) client.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.wss?.close();
  }

  /** Streaming sessions open now (upgraded, not yet closed), by kind. */
  activeSessions(): Readonly<Record<Route, number>> {
    return { ...this.sessions };
  }

  /** Counts `socket` as an open `kind` session until it closes. */
  private track(kind: Route, socket: Duplex): void {
    this.sessions[kind]++;
    socket.once('close', () => this.sessions[kind]--);
  }

  private urlFor(route: Route, request: SessionRequest): string {
    return `${this.base}/${route}/${this.tokens.insert(request)}`;
  }

  /** Resolves the route and consumes the token; undefined → 404. */
  private takeRequest(req: http.IncomingMessage): { route: Route; request: SessionRequest; query: URLSearchParams } | undefined {
    const url = new URL(req.url ?? '/', 'http://streaming');
    const m = /^\/(exec|attach|portforward)\/([A-Za-z0-9_-]+)$/.exec(url.pathname);
    if (!m) return undefined;
    const route = m[1] as Route;
    const request = this.tokens.consume(m[2]);
    if (!request || request.kind !== route) return undefined;
    return { route, request, query: url.searchParams };
  }

  private onPlainRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const taken = this.takeRequest(req);
    if (!taken) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('404 page not found\n');
      return;
    }
    res.writeHead(400, { 'Content-Type': 'text/plain' }).end('Upgrade request required\n');
  }

  private onUpgrade(req: http.IncomingMessage, socket: Socket, head: Buffer): void {
    socket.on('error', () => undefined);
    const taken = this.takeRequest(req);
    if (!taken) return rejectUpgrade(socket, 404, 'Not Found', '404 page not found');
    const upgrade = (req.headers.upgrade ?? '').toLowerCase();
    const logger = this.opts.logger.child({ stream: taken.route });
    if (this.opts.idleTimeoutMs !== 0) {
      socket.setTimeout(this.opts.idleTimeoutMs ?? 4 * 3600_000, () => socket.destroy());
    }
    if (upgrade === 'websocket') return this.upgradeWebSocket(req, socket, head, taken.request, taken.query, logger);
    if (upgrade === 'spdy/3.1') return this.upgradeSpdy(req, socket, head, taken.request, logger);
    rejectUpgrade(socket, 400, 'Bad Request', `unsupported upgrade ${JSON.stringify(req.headers.upgrade ?? '')}`);
  }

  private upgradeSpdy(req: http.IncomingMessage, socket: Socket, head: Buffer, request: SessionRequest, logger: Logger): void {
    const supported = request.kind === 'portforward' ? SPDY_PORT_FORWARD_PROTOCOLS : SPDY_REMOTE_COMMAND_PROTOCOLS;
    const offered = headerList(req.headers['x-stream-protocol-version']);
    const protocol = offered.length === 0 ? '' : offered.find((p) => supported.includes(p));
    if (protocol === undefined) {
      return rejectUpgrade(socket, 403, 'Forbidden', `unable to upgrade: unable to negotiate protocol: client supports ${JSON.stringify(offered)}, server supports ${JSON.stringify(supported)}`);
    }
    const lines = ['HTTP/1.1 101 Switching Protocols', 'Connection: Upgrade', 'Upgrade: SPDY/3.1'];
    if (protocol !== '') lines.push(`X-Stream-Protocol-Version: ${protocol}`);
    socket.write(lines.join('\r\n') + '\r\n\r\n');
    this.track(request.kind, socket);
    socket.setNoDelay(true);
    const session = new SpdySession(socket, { isServer: true });
    if (head.length > 0) socket.unshift(head);
    const opts = { streamCreationTimeoutMs: this.opts.streamCreationTimeoutMs ?? 30_000, logger, limiter: this.portForwardLimiter };
    const served =
      request.kind === 'portforward'
        ? serveSpdyPortForward(session, request, this.opts.backends, opts)
        : serveSpdyRemoteCommand(session, protocol, request, this.opts.backends, opts);
    served.catch((err) => {
      logger.error('streaming session crashed', { error: String(err) });
      session.destroy();
    });
  }

  private upgradeWebSocket(req: http.IncomingMessage, socket: Socket, head: Buffer, request: SessionRequest, query: URLSearchParams, logger: Logger): void {
    const supported = request.kind === 'portforward' ? WS_PORT_FORWARD_PROTOCOLS : WS_REMOTE_COMMAND_PROTOCOLS;
    const offered = headerList(req.headers['sec-websocket-protocol']);
    const protocol = offered.length === 0 ? '' : offered.find((p) => supported.includes(p));
    if (protocol === undefined) {
      return rejectUpgrade(socket, 400, 'Bad Request', `unable to negotiate websocket protocol: client supports ${JSON.stringify(offered)}, server supports ${JSON.stringify(supported)}`);
    }
    let ports: number[] = [];
    if (request.kind === 'portforward') {
      try {
        ports = portsFromQuery(query.getAll('port'));
      } catch (err) {
        return rejectUpgrade(socket, 400, 'Bad Request', String((err as Error).message));
      }
      if (ports.length === 0) ports = request.ports;
      if (ports.length === 0) return rejectUpgrade(socket, 400, 'Bad Request', 'query parameter "port" is required');
    }
    if (protocol !== '') this.chosenWsProtocol.set(req, protocol);
    this.webSocketServer().handleUpgrade(req, socket, head, (ws) => {
      this.track(request.kind, socket);
      const served =
        request.kind === 'portforward'
          ? serveWsPortForward(ws, protocol, ports, request, this.opts.backends, logger, this.portForwardLimiter)
          : serveWsRemoteCommand(ws, protocol, request, this.opts.backends, logger);
      served.catch((err) => {
        logger.error('streaming session crashed', { error: String(err) });
        ws.terminate();
      });
    });
  }
}

/** Values of a possibly repeated, comma-joined header. */
function headerList(value: string | string[] | undefined): string[] {
  const all = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return all.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
}

function rejectUpgrade(socket: Duplex, code: number, reason: string, body: string): void {
  const text = body + '\n';
  socket.end(`HTTP/1.1 ${code} ${reason}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`);
}
