/**
 * Test-only: a raw HTTP/2 client that writes hand-made frames and records every frame the server
 * sends, and a server that runs berth's transport with given routes and limits.
 */
import * as net from 'node:net';
import { encodeLiteralField } from '../hpack';
import { Http2ServerConnection, type StreamAcceptor } from '../transport/connection';
import { CLIENT_PREFACE, encodeFrame, encodeSettings, FrameType, type SettingId } from '../transport/frames';
import { openGrpcCall } from '../transport/grpc-call';
import { HpackDecoder, type HeaderField } from '../transport/hpack-decoder';
import { DEFAULT_LIMITS, type ConnectionLimits } from '../transport/limits';
import type { Route } from '../transport/server-call';

/** A frame as received. */
export interface RawFrame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
  /** Decoded header block (HEADERS with END_HEADERS only). */
  headers?: HeaderField[];
}

/** A header block of literals without indexing, new names (no table state on either side). */
export function headerBlock(fields: ReadonlyArray<readonly [string, string]>): Buffer {
  return Buffer.concat(fields.map(([n, v]) => encodeLiteralField(n, v)));
}

/** The headers of a gRPC request to `path`. */
export function grpcRequestFields(path: string, extra: ReadonlyArray<readonly [string, string]> = []): Array<readonly [string, string]> {
  return [[':method', 'POST'], [':scheme', 'http'], [':path', path], [':authority', '/run/berth/berth.sock'], ['content-type', 'application/grpc'], ['te', 'trailers'], ...extra];
}

/** A gRPC length-prefixed message. */
export function grpcMessage(body: Uint8Array, compressed = 0): Buffer {
  const out = Buffer.alloc(5 + body.length);
  out[0] = compressed;
  out.writeUInt32BE(body.length, 1);
  out.set(body, 5);
  return out;
}

/** A SETTINGS frame from the client. */
export function clientSettings(settings: ReadonlyArray<readonly [SettingId, number]> = []): Buffer {
  return encodeSettings(settings);
}

/** A raw client connection. */
export class RawH2Client {
  readonly frames: RawFrame[] = [];
  readonly socket: net.Socket;
  closed = false;
  private input = Buffer.alloc(0);
  private readonly decoder = new HpackDecoder(4096, 1 << 20);
  private waiters: Array<() => void> = [];

  /** `allowHalfOpen`: the client keeps its side open after the server ended its own. */
  constructor(socketPath: string, allowHalfOpen = false) {
    this.socket = net.connect({ path: socketPath, allowHalfOpen });
    this.socket.on('data', (d: Buffer) => this.receive(d));
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  /** Preface and SETTINGS (with `settings`). */
  start(settings: ReadonlyArray<readonly [SettingId, number]> = []): this {
    this.send(Buffer.concat([CLIENT_PREFACE, clientSettings(settings)]));
    return this;
  }

  send(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): void {
    this.send(encodeFrame(type, flags, streamId, payload));
  }

  /** Waits for a frame matching `match` (searching frames already received too). */
  async waitFor(match: (f: RawFrame) => boolean, timeoutMs = 3000): Promise<RawFrame> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.find(match);
      if (found) return found;
      if (this.closed) throw new Error(`connection closed; frames: ${this.describe()}`);
      const left = until - Date.now();
      if (left <= 0) throw new Error(`no matching frame in ${timeoutMs} ms; frames: ${this.describe()}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Waits for GOAWAY and returns its error code. */
  async goAwayCode(timeoutMs = 3000): Promise<number> {
    const f = await this.waitFor((x) => x.type === FrameType.GOAWAY, timeoutMs);
    return f.payload.readUInt32BE(4);
  }

  /** Waits until the server closed the connection. */
  async waitClosed(timeoutMs = 3000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > until) throw new Error('connection still open');
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Frames of one stream. */
  stream(streamId: number): RawFrame[] {
    return this.frames.filter((f) => f.streamId === streamId);
  }

  close(): void {
    this.socket.destroy();
  }

  describe(): string {
    return this.frames.map((f) => `${f.type}/${f.flags}/${f.streamId}/${f.payload.length}`).join(' ');
  }

  private receive(d: Buffer): void {
    this.input = Buffer.concat([this.input, d]);
    while (this.input.length >= 9) {
      const length = this.input.readUIntBE(0, 3);
      if (this.input.length < 9 + length) break;
      const frame: RawFrame = { type: this.input[3], flags: this.input[4], streamId: this.input.readUInt32BE(5) & 0x7fffffff, payload: Buffer.from(this.input.subarray(9, 9 + length)) };
      this.input = this.input.subarray(9 + length);
      if (frame.type === FrameType.HEADERS && frame.flags & 0x4) frame.headers = this.decoder.decode(frame.payload).fields;
      this.frames.push(frame);
    }
    this.wake();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

/** A transport server on `socketPath` with `routes`; counts socket writes per connection. */
export async function serveTransport(
  socketPath: string,
  routes: ReadonlyMap<string, Route>,
  limits: Partial<ConnectionLimits> = {},
  maxMessageBytes = 16 * 1024 * 1024,
): Promise<{ writes: number[]; connections: Http2ServerConnection[]; errors: Error[]; close(): Promise<void> }> {
  const writes: number[] = [];
  const connections: Http2ServerConnection[] = [];
  const errors: Error[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    const index = writes.push(0) - 1;
    const write = socket.write.bind(socket) as (chunk: Buffer) => boolean;
    socket.write = ((chunk: Buffer) => {
      writes[index] += 1;
      return write(chunk);
    }) as typeof socket.write;
    const acceptor: StreamAcceptor = { openStream: (stream, headers, end, conn) => openGrpcCall(stream, headers, end, conn, routes, maxMessageBytes) };
    connections.push(new Http2ServerConnection(socket, acceptor, { ...DEFAULT_LIMITS, ...limits }, (e) => errors.push(e)));
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return {
    writes,
    connections,
    errors,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
