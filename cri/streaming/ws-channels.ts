/**
 * Kubernetes channel framing over WebSocket (k8s.io/apimachinery wsstream): every message starts
 * with one channel byte; the `base64.` protocol variants send text frames whose first character is
 * the channel digit followed by base64 payload. v5 adds a close signal: channel 255 followed by
 * the channel being half-closed.
 */
import { Writable } from 'node:stream';
import type WebSocket from 'ws';
import { UnavailableError } from '../../common/errors';

/** The v5 close-signal channel. */
export const CLOSE_SIGNAL_CHANNEL = 255;

/** One decoded message. */
export interface ChannelMessage {
  channel: number;
  data: Buffer;
}

/** Encodes `data` for `channel`. */
export function encodeChannelMessage(channel: number, data: Buffer, base64: boolean): Buffer | string {
  if (base64) return String.fromCharCode(0x30 + channel) + data.toString('base64');
  const out = Buffer.allocUnsafe(data.length + 1);
  out[0] = channel;
  data.copy(out, 1);
  return out;
}

/** Decodes a received message, or undefined when it is empty or malformed. */
export function decodeChannelMessage(raw: WebSocket.RawData, isBinary: boolean, base64: boolean): ChannelMessage | undefined {
  const buf = Array.isArray(raw) ? Buffer.concat(raw) : Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
  if (buf.length === 0) return undefined;
  if (base64 && !isBinary) {
    const channel = buf[0] - 0x30;
    if (channel < 0 || channel > 9) return undefined;
    return { channel, data: Buffer.from(buf.subarray(1).toString('latin1'), 'base64') };
  }
  return { channel: buf[0], data: buf.subarray(1) };
}

/** A Writable that sends each chunk as one message on `channel`, with send-completion backpressure. */
export class ChannelWriter extends Writable {
  constructor(
    private readonly ws: WebSocket,
    private readonly channel: number,
    private readonly base64: boolean,
  ) {
    super({ highWaterMark: 64 * 1024 });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.ws.readyState !== this.ws.OPEN) return cb(new UnavailableError('write to websocket: connection is closed'));
    this.ws.send(encodeChannelMessage(this.channel, chunk, this.base64), (err) => cb(err ?? null));
  }
}
