/**
 * Fuzz target: berth's HTTP/2 server connection (cri/transport/) fed arbitrary bytes after a valid
 * client preface and SETTINGS, as a hostile client would send them, with fake routes behind it
 * (echo, a call that never answers, a server stream, a large answer, an error).
 * Properties: no exception escapes; the run finishes within the budget; the connection holds at
 * most one partial frame plus one bounded header block of input; it writes back at most a small
 * multiple of what it received (no amplification); once the socket closes every call has been
 * cancelled or answered and no stream stays open.
 */
import fc from 'fast-check';
import { Duplex } from 'node:stream';
import { Http2ServerConnection, type StreamAcceptor } from '../../../cri/transport/connection';
import { CLIENT_PREFACE, encodeFrame, encodeSettings, Flag, FrameType, SettingId } from '../../../cri/transport/frames';
import { openGrpcCall } from '../../../cri/transport/grpc-call';
import { DEFAULT_LIMITS, type ConnectionLimits } from '../../../cri/transport/limits';
import { grpcMessage, grpcRequestFields, headerBlock } from '../../../cri/testing/h2-raw';
import { testRoutes } from '../../../cri/testing/transport-routes';
import type { FuzzTarget } from '../target';

/** A socket stand-in that keeps what the server writes. */
class FakeSocket extends Duplex {
  written = 0;
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.written += chunk.length;
    cb();
  }
}

const LIMITS: ConnectionLimits = { ...DEFAULT_LIMITS, maxConcurrentStreams: 50, maxBufferedRequestBytes: 1 << 20, prefaceTimeoutMs: 0 };
const MAX_MESSAGE = 64 * 1024;
/** Fixed output: our SETTINGS, WINDOW_UPDATE, acks, GOAWAY with a debug message. */
const OUTPUT_SLACK = 4096;

const frame = (type: number, flags: number, id: number, payload: Buffer = Buffer.alloc(0)) => encodeFrame(type, flags, id, payload);
const request = (id: number, route: string, body: Buffer) =>
  Buffer.concat([frame(FrameType.HEADERS, Flag.END_HEADERS, id, headerBlock(grpcRequestFields(route))), frame(FrameType.DATA, Flag.END_STREAM, id, body)]);

async function runOnce(input: Buffer, chunk: number): Promise<void> {
  const socket = new FakeSocket();
  const { routes, log } = testRoutes({ bigBytes: 20_000, streamMessages: 5, streamBytes: 100 });
  const acceptor: StreamAcceptor = { openStream: (stream, headers, end, conn) => openGrpcCall(stream, headers, end, conn, routes, MAX_MESSAGE) };
  const connection = new Http2ServerConnection(socket, acceptor, LIMITS, () => undefined);
  const start = Buffer.concat([CLIENT_PREFACE, encodeSettings([])]);
  const all = Buffer.concat([start, input]);
  const maxPending = LIMITS.maxHeaderBlockBytes + 16384 + 9;
  for (let off = 0; off < all.length; off += chunk) {
    socket.emit('data', all.subarray(off, off + chunk));
    if (connection.pendingInputBytes > maxPending) throw new Error(`connection holds ${connection.pendingInputBytes} input bytes`);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  // Writes are bounded by what the client asked for: per frame received, at most a small answer.
  const framesIn = Math.ceil(all.length / 9) + 1;
  const limit = all.length * 4 + framesIn * 64 + OUTPUT_SLACK + 20_100 * Math.min(framesIn, LIMITS.maxConcurrentStreams);
  if (socket.written > limit) throw new Error(`wrote ${socket.written} bytes for ${all.length} bytes of input`);
  socket.emit('close');
  await new Promise<void>((resolve) => setImmediate(resolve));
  if (connection.activeStreams !== 0) throw new Error(`${connection.activeStreams} streams open after close`);
  for (const call of log.held) if (!call.cancelled) throw new Error('a held call was not cancelled when the socket closed');
}

export const target: FuzzTarget = {
  name: 'http2-server',
  seeds: () => [
    request(1, '/t/Echo', grpcMessage(Buffer.from('hello'))),
    Buffer.concat([request(1, '/t/Stream', grpcMessage(Buffer.alloc(0))), frame(FrameType.WINDOW_UPDATE, 0, 1, Buffer.from([0, 0, 1, 0])), frame(FrameType.PING, 0, 0, Buffer.alloc(8))]),
    Buffer.concat([request(1, '/t/Hold', grpcMessage(Buffer.from('x'))), frame(FrameType.RST_STREAM, 0, 1, Buffer.from([0, 0, 0, 8]))]),
    Buffer.concat([frame(FrameType.HEADERS, Flag.PADDED, 3, Buffer.concat([Buffer.from([2]), headerBlock(grpcRequestFields('/t/Big')), Buffer.alloc(2)])), frame(FrameType.CONTINUATION, Flag.END_HEADERS, 3), frame(FrameType.DATA, Flag.END_STREAM, 3, grpcMessage(Buffer.alloc(3)))]),
    Buffer.concat([encodeSettings([[SettingId.INITIAL_WINDOW_SIZE, 10], [SettingId.MAX_FRAME_SIZE, 20000], [SettingId.HEADER_TABLE_SIZE, 0]]), request(1, '/t/Big', grpcMessage(Buffer.alloc(0)))]),
    Buffer.concat([request(1, '/t/Fail', grpcMessage(Buffer.from('nope'))), frame(FrameType.GOAWAY, 0, 0, Buffer.alloc(8))]),
  ],
  async run(input: Uint8Array): Promise<void> {
    const bytes = Buffer.from(input);
    await runOnce(bytes, bytes.length + 100);
    await runOnce(bytes, 7);
  },
  arbitrary: fc
    .array(
      fc.oneof(
        fc.tuple(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 9 }), fc.uint8Array({ maxLength: 40 })).map(([t, f, id, p]) => frame(t, f, id, Buffer.from(p))),
        fc.tuple(fc.integer({ min: 0, max: 20 }).map((n) => 2 * n + 1), fc.constantFrom('/t/Echo', '/t/Hold', '/t/Stream', '/t/Big', '/t/Fail', '/x'), fc.uint8Array({ maxLength: 20 })).map(([id, r, b]) => request(id, r, grpcMessage(b))),
        fc.integer({ min: 0, max: 20 }).map((n) => frame(FrameType.RST_STREAM, 0, 2 * n + 1, Buffer.from([0, 0, 0, 8]))),
        fc.integer({ min: 0, max: 0x7fffffff }).map((n) => {
          const p = Buffer.alloc(4);
          p.writeUInt32BE(n);
          return frame(FrameType.WINDOW_UPDATE, 0, 0, p);
        }),
      ),
      { maxLength: 20 },
    )
    .map((frames) => new Uint8Array(Buffer.concat(frames))),
  budgetMs: 2000,
};
