/**
 * PortForward over WebSocket (kubelet's portforward/websocket.go): the ports come from the `port`
 * query parameter (repeatable, comma-separated); port i uses channel 2i for data and 2i+1 for
 * errors, and the server's first message on each of them is the port as two little-endian bytes.
 * One pod connection per port; the WebSocket closes when all of them have ended.
 */
import type { Duplex } from 'node:stream';
import type WebSocket from 'ws';
import { setMaxListeners } from 'node:events';
import { describeError, InvalidArgumentError, UnimplementedError } from '../../common/errors';
import type { Logger } from '../../common/logger';
import type { StreamingBackends } from './backends';
import type { PortForwardLimiter } from './port-forward-limits';
import { parsePort } from './port-forward-pipe';
import type { PortForwardSessionRequest } from './requests';
import { decodeChannelMessage, encodeChannelMessage } from './ws-channels';

export const WS_PORT_FORWARD_PROTOCOLS = ['v4.channel.k8s.io', 'v4.base64.channel.k8s.io'];

/**
 * Client bytes held for connections still being opened (all ports together); past this the
 * WebSocket is not read until a connection is up (connects may take up to 30 s).
 */
export const MAX_EARLY_BYTES = 256 * 1024;

/** Reads the `port` query values ("80,443" or repeated); InvalidArgumentError for bad ones. */
export function portsFromQuery(values: string[]): number[] {
  const ports: number[] = [];
  for (const v of values) {
    for (const part of v.split(',')) {
      if (part.trim() === '') continue;
      const port = parsePort(part);
      if (port === undefined) throw new InvalidArgumentError(`invalid port ${JSON.stringify(part)}`);
      ports.push(port);
    }
  }
  return ports;
}

/**
 * The client's data for each port: written to the pod connection once it is up, held (at most
 * MAX_EARLY_BYTES in all) until then, dropped once it failed. Reading the WebSocket pauses while
 * any reason holds: a full pod connection, or too many early bytes.
 */
class ClientInbound {
  private readonly conns: Array<Duplex | undefined>;
  private readonly early: Buffer[][];
  private readonly isFailed: boolean[];
  private earlyBytes = 0;
  private readonly pausedFor = new Set<string>();

  constructor(
    private readonly ws: WebSocket,
    ports: number,
  ) {
    this.conns = Array.from({ length: ports }, () => undefined);
    this.early = Array.from({ length: ports }, () => []);
    this.isFailed = Array.from({ length: ports }, () => false);
  }

  /** Data from the client for port index `i`. */
  receive(i: number, data: Buffer): void {
    if (i >= this.conns.length || this.isFailed[i]) return;
    const conn = this.conns[i];
    if (conn) {
      if (!conn.write(data)) {
        this.setPaused(`drain ${i}`, true);
        conn.once('drain', () => this.setPaused(`drain ${i}`, false));
      }
      return;
    }
    this.early[i].push(Buffer.from(data));
    this.earlyBytes += data.length;
    if (this.earlyBytes > MAX_EARLY_BYTES) this.setPaused('early', true);
  }

  /** Port i's connection is up: its early bytes are handed over. */
  connected(i: number, conn: Duplex): void {
    this.conns[i] = conn;
    this.settleEarly(i, conn);
  }

  /** Port i's connection failed: its early bytes are dropped, later ones ignored. */
  failed(i: number): void {
    this.isFailed[i] = true;
    this.settleEarly(i, undefined);
  }

  private settleEarly(i: number, conn: Duplex | undefined): void {
    for (const b of this.early[i].splice(0)) {
      this.earlyBytes -= b.length;
      conn?.write(b);
    }
    if (this.earlyBytes <= MAX_EARLY_BYTES) this.setPaused('early', false);
  }

  private setPaused(reason: string, on: boolean): void {
    const before = this.pausedFor.size > 0;
    if (on) this.pausedFor.add(reason);
    else this.pausedFor.delete(reason);
    if (before && this.pausedFor.size === 0) this.ws.resume();
    else if (!before && this.pausedFor.size > 0) this.ws.pause();
  }
}

/** Serves one WebSocket port-forward session for `ports`. */
export async function serveWsPortForward(
  ws: WebSocket,
  protocol: string,
  ports: number[],
  request: PortForwardSessionRequest,
  backends: StreamingBackends,
  logger: Logger,
  limiter: PortForwardLimiter,
): Promise<void> {
  const base64 = protocol.includes('base64');
  const abort = new AbortController();
  setMaxListeners(0, abort.signal); // one listener per forwarded connection, legitimately many
  const inbound = new ClientInbound(ws, ports.length);
  const send = (channel: number, data: Buffer) =>
    new Promise<void>((r) => (ws.readyState === ws.OPEN ? ws.send(encodeChannelMessage(channel, data, base64), () => r()) : r()));

  ws.on('message', (raw, isBinary) => {
    const msg = decodeChannelMessage(raw, isBinary, base64);
    if (msg && msg.channel % 2 === 0) inbound.receive(msg.channel / 2, msg.data);
  });
  ws.on('close', () => abort.abort());
  ws.on('error', () => abort.abort());

  await sendPortPrefixes(ports, send);

  const forwardOne = async (i: number): Promise<void> => {
    const port = ports[i];
    let release: () => void = () => undefined;
    try {
      if (request.ports.length > 0 && !request.ports.includes(port)) throw new InvalidArgumentError(`port ${port} was not requested`);
      if (!backends.portForward) throw new UnimplementedError('port forwarding is not supported by this runtime');
      release = limiter.acquire(request.podSandboxId);
      const conn = await backends.portForward.connect(request.podSandboxId, port, abort.signal);
      inbound.connected(i, conn);
      await pumpToClient(conn, (chunk) => send(2 * i, chunk), abort.signal);
      conn.destroy();
    } catch (err) {
      inbound.failed(i);
      const message = `error forwarding port ${port} to pod ${request.podSandboxId}: ${describeError(err)}`;
      logger.debug('port-forward connection failed', { pod: request.podSandboxId, error: message });
      await send(2 * i + 1, Buffer.from(message));
    } finally {
      release();
    }
  };
  await Promise.all(ports.map((_, i) => forwardOne(i)));
  if (ws.readyState === ws.OPEN) ws.close(1000);
}

/** Every channel starts with its port (uint16 LE) on the data and the error channel. */
async function sendPortPrefixes(ports: readonly number[], send: (channel: number, data: Buffer) => Promise<void>): Promise<void> {
  for (let i = 0; i < ports.length; i++) {
    const prefix = Buffer.alloc(2);
    prefix.writeUInt16LE(ports[i], 0);
    await send(2 * i, prefix);
    await send(2 * i + 1, prefix);
  }
}

/** Sends what the pod connection reads to the client, one chunk at a time, until either side ends. */
function pumpToClient(conn: Duplex, send: (chunk: Buffer) => Promise<void>, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    conn.on('data', (chunk: Buffer) => {
      conn.pause();
      void send(chunk).then(() => conn.resume());
    });
    conn.on('end', resolve);
    conn.on('close', resolve);
    conn.on('error', resolve);
    signal.addEventListener('abort', () => {
      conn.destroy();
      resolve();
    });
  });
}
