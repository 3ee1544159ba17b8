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
  const conns: Array<Duplex | undefined> = ports.map(() => undefined);
  const early: Buffer[][] = ports.map(() => []);
  const failed: boolean[] = ports.map(() => false);
  let earlyBytes = 0;
  // Reading pauses while any reason holds: a full pod connection, or too many early bytes.
  const pausedFor = new Set<string>();
  const setPaused = (reason: string, on: boolean) => {
    const before = pausedFor.size > 0;
    if (on) pausedFor.add(reason);
    else pausedFor.delete(reason);
    if (before && pausedFor.size === 0) ws.resume();
    else if (!before && pausedFor.size > 0) ws.pause();
  };
  /** Port i's connection is up (`conn`) or failed: its early bytes are handed over or dropped. */
  const settleEarly = (i: number, conn: Duplex | undefined) => {
    for (const b of early[i].splice(0)) {
      earlyBytes -= b.length;
      conn?.write(b);
    }
    if (earlyBytes <= MAX_EARLY_BYTES) setPaused('early', false);
  };
  const send = (channel: number, data: Buffer) =>
    new Promise<void>((r) => (ws.readyState === ws.OPEN ? ws.send(encodeChannelMessage(channel, data, base64), () => r()) : r()));

  ws.on('message', (raw, isBinary) => {
    const msg = decodeChannelMessage(raw, isBinary, base64);
    if (!msg || msg.channel % 2 !== 0) return;
    const i = msg.channel / 2;
    if (i >= ports.length || failed[i]) return;
    const conn = conns[i];
    if (conn) {
      if (!conn.write(msg.data)) {
        setPaused(`drain ${i}`, true);
        conn.once('drain', () => setPaused(`drain ${i}`, false));
      }
      return;
    }
    early[i].push(Buffer.from(msg.data));
    earlyBytes += msg.data.length;
    if (earlyBytes > MAX_EARLY_BYTES) setPaused('early', true);
  });
  ws.on('close', () => abort.abort());
  ws.on('error', () => abort.abort());

  for (let i = 0; i < ports.length; i++) {
    const prefix = Buffer.alloc(2);
    prefix.writeUInt16LE(ports[i], 0);
    await send(2 * i, prefix);
    await send(2 * i + 1, prefix);
  }

  const forwardOne = async (i: number): Promise<void> => {
    const port = ports[i];
    let release: () => void = () => undefined;
    try {
      if (request.ports.length > 0 && !request.ports.includes(port)) throw new InvalidArgumentError(`port ${port} was not requested`);
      if (!backends.portForward) throw new UnimplementedError('port forwarding is not supported by this runtime');
      release = limiter.acquire(request.podSandboxId);
      const conn = await backends.portForward.connect(request.podSandboxId, port, abort.signal);
      conns[i] = conn;
      settleEarly(i, conn);
      await new Promise<void>((resolve) => {
        conn.on('data', (chunk: Buffer) => {
          conn.pause();
          void send(2 * i, chunk).then(() => conn.resume());
        });
        conn.on('end', resolve);
        conn.on('close', resolve);
        conn.on('error', resolve);
        abort.signal.addEventListener('abort', () => {
          conn.destroy();
          resolve();
        });
      });
      conn.destroy();
    } catch (err) {
      failed[i] = true;
      settleEarly(i, undefined);
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
