/**
 * Our own WebSocket client for the streaming server's channel protocols (v5/v4.channel.k8s.io
 * remotecommand, v4.channel.k8s.io port-forward), framing as k8s wsstream does.
 */
import WebSocket from 'ws';

export interface WsSession {
  ws: WebSocket;
  protocol: string;
  /** Bytes received per channel, in order (without the channel byte). */
  received: Map<number, Buffer[]>;
  /** Resolves when the server closed the connection. */
  closed: Promise<{ code: number }>;
  /** Sends `data` on `channel`. */
  send(channel: number, data: Buffer | string): void;
  /** Concatenated payload of `channel` so far. */
  channelData(channel: number): Buffer;
}

/** Opens a WebSocket to `url` (http(s):// becomes ws(s)://) offering `protocols`; `ca` trusts a TLS server. */
export function connectWs(url: string, protocols: string[], opts: { ca?: Buffer | string } = {}): Promise<WsSession> {
  const wsUrl = url.replace(/^http/, 'ws');
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl, protocols, { perMessageDeflate: false, ...(opts.ca ? { ca: opts.ca } : {}) });
    const received = new Map<number, Buffer[]>();
    const base64 = () => ws.protocol.includes('base64');
    ws.on('message', (raw, isBinary) => {
      let buf = Array.isArray(raw) ? Buffer.concat(raw) : Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
      if (buf.length === 0) return;
      let channel = buf[0];
      if (base64() && !isBinary) {
        channel = buf[0] - 0x30;
        buf = Buffer.concat([Buffer.from([channel]), Buffer.from(buf.subarray(1).toString(), 'base64')]);
      }
      const list = received.get(channel) ?? [];
      list.push(buf.subarray(1));
      received.set(channel, list);
    });
    const closed = new Promise<{ code: number }>((r) => ws.on('close', (code) => r({ code })));
    ws.once('open', () =>
      resolve({
        ws,
        protocol: ws.protocol,
        received,
        closed,
        send(channel, data) {
          const payload = Buffer.isBuffer(data) ? data : Buffer.from(data);
          if (base64()) ws.send(String.fromCharCode(0x30 + channel) + payload.toString('base64'));
          else ws.send(Buffer.concat([Buffer.from([channel]), payload]));
        },
        channelData(channel) {
          return Buffer.concat(received.get(channel) ?? []);
        },
      }),
    );
    ws.once('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => reject(Object.assign(new Error(`websocket refused with HTTP ${res.statusCode}: ${Buffer.concat(chunks).toString().trim()}`), { statusCode: res.statusCode })));
    });
    ws.once('error', reject);
  });
}
