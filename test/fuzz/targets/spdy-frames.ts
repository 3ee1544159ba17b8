/**
 * Fuzz target: the SPDY/3.1 frame parser and a server-side session over arbitrary bytes.
 * Properties: the parser gives the same frames (and the same error) however the bytes are split
 * into socket chunks; it only ever throws SpdyProtocolError; a server session fed the bytes as a
 * hostile client closes cleanly once the input ends, and writes back at most a small multiple of
 * what it received (no amplification).
 */
import fc from 'fast-check';
import { Duplex } from 'node:stream';
import * as zlib from 'node:zlib';
import { SPDY3_DICTIONARY } from '../../../cri/streaming/spdy/dictionary';
import { encodeDataFrame, encodeGoAway, encodePing, encodeRstStream, encodeSettings, encodeSynStream, encodeWindowUpdate, FrameParser, SpdyProtocolError, type SpdyFrame } from '../../../cri/streaming/spdy/frames';
import { serializeHeaderBlock, type SpdyHeaders } from '../../../cri/streaming/spdy/header-codec';
import { SpdySession } from '../../../cri/streaming/spdy/session';
import type { FuzzTarget } from '../target';
import { spdyFrameOfEachKind } from '../../../cri/testing/frame-fixtures';

/** A first header block of a connection, as a peer's zlib context would produce it. */
function firstBlock(headers: SpdyHeaders): Buffer {
  return zlib.deflateSync(serializeHeaderBlock(headers), { dictionary: SPDY3_DICTIONARY, finishFlush: zlib.constants.Z_SYNC_FLUSH });
}

/** A comparable rendering of parsed frames. */
function describeFrame(f: SpdyFrame): string {
  return JSON.stringify(f, (_k, v: unknown) => (v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' ? Buffer.from((v as { data: number[] }).data).toString('hex') : v));
}

/** Parses `input` in chunks of `size` bytes; frames so far and the error, if any. */
function parseInChunks(input: Buffer, size: number): { frames: string[]; error?: string } {
  const parser = new FrameParser();
  const frames: string[] = [];
  for (let off = 0; off < input.length; off += size) {
    try {
      for (const f of parser.push(input.subarray(off, off + size))) frames.push(describeFrame(f));
    } catch (err) {
      if (!(err instanceof SpdyProtocolError)) throw new Error(`FrameParser threw ${String(err)}`, { cause: err });
      return { frames, error: err.message };
    }
    if (parser.pendingBytes > input.length) throw new Error(`parser holds ${parser.pendingBytes} bytes of a ${input.length}-byte input`);
  }
  return { frames };
}

/** An in-memory socket: what the session writes is counted, `feed` plays the client. */
class FakeSocket extends Duplex {
  written = 0;
  constructor() {
    super({ allowHalfOpen: true });
  }
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.written += chunk.length;
    cb();
  }
}

async function runSession(input: Buffer): Promise<void> {
  const socket = new FakeSocket();
  const session = new SpdySession(socket, { isServer: true, maxOpenStreams: 8 });
  session.on('stream', (stream) => {
    stream.on('error', () => undefined);
    stream.on('data', () => undefined);
    stream.on('end', () => stream.end('ok'));
  });
  const closed = new Promise<void>((resolve) => session.once('close', resolve));
  const cut = input.length > 0 ? input[0] % (input.length + 1) : 0;
  socket.push(input.subarray(0, cut));
  socket.push(input.subarray(cut));
  socket.push(null);
  await closed;
  session.destroy();
  // Every answer (SYN_REPLY, RST, PING, GOAWAY, "ok" data) is bounded by what asked for it.
  const allowed = 16 * input.length + 1024;
  if (socket.written > allowed) throw new Error(`session wrote ${socket.written} bytes for a ${input.length}-byte input`);
}

const control = fc.oneof(
  fc.integer({ min: 0, max: 0xffffffff }).map((id) => encodePing(id)),
  fc.array(fc.record({ id: fc.integer({ min: 0, max: 0xffffff }), value: fc.integer({ min: 0, max: 0xffffffff }) }), { maxLength: 4 }).map((e) => encodeSettings(e)),
  fc.tuple(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 0x7fffffff })).map(([s, d]) => encodeWindowUpdate(s, d)),
  fc.tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 0, max: 12 })).map(([s, st]) => encodeRstStream(s, st)),
  fc.tuple(fc.integer({ min: 0, max: 9 }), fc.uint8Array({ maxLength: 64 }), fc.boolean()).map(([s, d, fin]) => encodeDataFrame(s, Buffer.from(d), fin)),
  fc.integer({ min: 0, max: 9 }).map((s) => encodeGoAway(s, 0)),
);

export const target: FuzzTarget = {
  name: 'spdy-frames',
  seeds: () => [
    spdyFrameOfEachKind(encodeSynStream(1, firstBlock({ streamtype: ['error'] }))),
    Buffer.concat([encodeSynStream(1, firstBlock({ streamtype: ['data'], port: ['80'], requestid: ['0'] }), { fin: false }), encodeDataFrame(1, Buffer.from('GET / HTTP/1.0\r\n\r\n'), true)]),
    Buffer.concat([encodePing(1), encodeDataFrame(3, Buffer.from('abcdef'), false), encodeWindowUpdate(3, 10)]),
    Buffer.from('8003000a00000000', 'hex'), // unknown control frame
    Buffer.from('8002000600000004' + '00000001', 'hex'), // SPDY/2
    Buffer.from('8003000100ffffff', 'hex'), // SYN_STREAM announcing 16 MiB
  ],
  async run(input: Uint8Array): Promise<void> {
    const bytes = Buffer.from(input);
    const whole = parseInChunks(bytes, Math.max(1, bytes.length));
    for (const size of [1, 7, 64]) {
      const split = parseInChunks(bytes, size);
      // A push that throws drops the frames it completed before the error, so with an error the
      // frames of the bigger chunks are a prefix of those of the smaller ones.
      const same = whole.error === undefined ? split.error === undefined && split.frames.join() === whole.frames.join() : split.error === whole.error && whole.frames.every((f, i) => split.frames[i] === f);
      if (!same) throw new Error(`chunks of ${size} bytes parse differently: ${JSON.stringify(split).slice(0, 300)} vs ${JSON.stringify(whole).slice(0, 300)}`);
    }
    await runSession(bytes);
  },
  arbitrary: fc
    .tuple(
      fc.option(fc.dictionary(fc.stringMatching(/^[a-z][a-z-]{0,11}$/), fc.array(fc.string({ maxLength: 16 }), { minLength: 1, maxLength: 3 }), { maxKeys: 4 })),
      fc.array(control, { maxLength: 12 }),
    )
    .map(([headers, frames]) => new Uint8Array(Buffer.concat([...(headers ? [encodeSynStream(1, firstBlock(headers))] : []), ...frames]))),
  budgetMs: 2000,
};
