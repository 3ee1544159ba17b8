/**
 * SPDY/3 frame encoding and an incremental frame parser (draft-mbelshe-httpbis-spdy-00 §2.2,
 * §2.6; SPDY/3.1 adds session-level WINDOW_UPDATE on stream 0). Header blocks stay compressed
 * here: header-codec.ts owns the per-connection zlib contexts.
 */

export const SPDY_VERSION = 3;

/** Control frame type codes. */
export const enum FrameType {
  SynStream = 1,
  SynReply = 2,
  RstStream = 3,
  Settings = 4,
  Ping = 6,
  GoAway = 7,
  Headers = 8,
  WindowUpdate = 9,
}

/** FLAG_FIN on SYN_STREAM, SYN_REPLY, HEADERS and data frames. */
export const FLAG_FIN = 0x01;
/** FLAG_UNIDIRECTIONAL on SYN_STREAM. */
export const FLAG_UNIDIRECTIONAL = 0x02;

/** RST_STREAM status codes. */
export const RstStatus = {
  ProtocolError: 1,
  InvalidStream: 2,
  RefusedStream: 3,
  UnsupportedVersion: 4,
  Cancel: 5,
  InternalError: 6,
  FlowControlError: 7,
  StreamInUse: 8,
  StreamAlreadyClosed: 9,
  FrameTooLarge: 11,
} as const;

/** SETTINGS ids used here. */
export const SETTINGS_MAX_CONCURRENT_STREAMS = 4;
export const SETTINGS_INITIAL_WINDOW_SIZE = 7;

/** Largest payload of one frame (24-bit length). */
export const MAX_FRAME_PAYLOAD = 0xffffff;

export type SpdyFrame =
  | { type: 'data'; streamId: number; flags: number; data: Buffer }
  | { type: 'syn_stream'; streamId: number; associatedId: number; priority: number; flags: number; headerBlock: Buffer }
  | { type: 'syn_reply'; streamId: number; flags: number; headerBlock: Buffer }
  | { type: 'headers'; streamId: number; flags: number; headerBlock: Buffer }
  | { type: 'rst_stream'; streamId: number; status: number }
  | { type: 'settings'; flags: number; entries: Array<{ flags: number; id: number; value: number }> }
  | { type: 'ping'; id: number }
  | { type: 'goaway'; lastGoodStreamId: number; status: number }
  | { type: 'window_update'; streamId: number; delta: number }
  | { type: 'unknown'; frameType: number; flags: number; payload: Buffer };

/** A malformed frame; `streamId` is set when the error concerns one stream only. */
export class SpdyProtocolError extends Error {
  constructor(
    message: string,
    readonly streamId?: number,
  ) {
    super(message);
    this.name = 'SpdyProtocolError';
  }
}

function controlHeader(type: FrameType, flags: number, length: number): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(0x8000 | SPDY_VERSION, 0);
  h.writeUInt16BE(type, 2);
  h.writeUInt32BE(length, 4);
  h[4] = flags & 0xff;
  return h;
}

/** Encodes a data frame (payload must fit one frame). */
export function encodeDataFrame(streamId: number, data: Buffer, fin: boolean): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(streamId & 0x7fffffff, 0);
  h.writeUInt32BE(data.length, 4);
  h[4] = fin ? FLAG_FIN : 0;
  return data.length === 0 ? h : Buffer.concat([h, data]);
}

/** Encodes SYN_STREAM with an already compressed header block. */
export function encodeSynStream(streamId: number, headerBlock: Buffer, opts: { fin?: boolean; unidirectional?: boolean; priority?: number; associatedId?: number } = {}): Buffer {
  const flags = (opts.fin ? FLAG_FIN : 0) | (opts.unidirectional ? FLAG_UNIDIRECTIONAL : 0);
  const body = Buffer.alloc(10);
  body.writeUInt32BE(streamId & 0x7fffffff, 0);
  body.writeUInt32BE((opts.associatedId ?? 0) & 0x7fffffff, 4);
  body[8] = ((opts.priority ?? 0) & 0x7) << 5;
  body[9] = 0; // credential slot
  return Buffer.concat([controlHeader(FrameType.SynStream, flags, 10 + headerBlock.length), body, headerBlock]);
}

/** Encodes SYN_REPLY. */
export function encodeSynReply(streamId: number, headerBlock: Buffer, fin: boolean): Buffer {
  const body = Buffer.alloc(4);
  body.writeUInt32BE(streamId & 0x7fffffff, 0);
  return Buffer.concat([controlHeader(FrameType.SynReply, fin ? FLAG_FIN : 0, 4 + headerBlock.length), body, headerBlock]);
}

/** Encodes HEADERS. */
export function encodeHeaders(streamId: number, headerBlock: Buffer, fin: boolean): Buffer {
  const body = Buffer.alloc(4);
  body.writeUInt32BE(streamId & 0x7fffffff, 0);
  return Buffer.concat([controlHeader(FrameType.Headers, fin ? FLAG_FIN : 0, 4 + headerBlock.length), body, headerBlock]);
}

/** Encodes RST_STREAM. */
export function encodeRstStream(streamId: number, status: number): Buffer {
  const body = Buffer.alloc(8);
  body.writeUInt32BE(streamId & 0x7fffffff, 0);
  body.writeUInt32BE(status, 4);
  return Buffer.concat([controlHeader(FrameType.RstStream, 0, 8), body]);
}

/** Encodes SETTINGS. */
export function encodeSettings(entries: Array<{ id: number; value: number; flags?: number }>): Buffer {
  const body = Buffer.alloc(4 + entries.length * 8);
  body.writeUInt32BE(entries.length, 0);
  entries.forEach((e, i) => {
    const off = 4 + i * 8;
    body.writeUInt32BE(e.id & 0xffffff, off);
    body[off] = (e.flags ?? 0) & 0xff;
    body.writeUInt32BE(e.value >>> 0, off + 4);
  });
  return Buffer.concat([controlHeader(FrameType.Settings, 0, body.length), body]);
}

/** Encodes PING. */
export function encodePing(id: number): Buffer {
  const body = Buffer.alloc(4);
  body.writeUInt32BE(id >>> 0, 0);
  return Buffer.concat([controlHeader(FrameType.Ping, 0, 4), body]);
}

/** Encodes GOAWAY. */
export function encodeGoAway(lastGoodStreamId: number, status: number): Buffer {
  const body = Buffer.alloc(8);
  body.writeUInt32BE(lastGoodStreamId & 0x7fffffff, 0);
  body.writeUInt32BE(status, 4);
  return Buffer.concat([controlHeader(FrameType.GoAway, 0, 8), body]);
}

/** Encodes WINDOW_UPDATE (stream 0 = the whole session, SPDY/3.1). */
export function encodeWindowUpdate(streamId: number, delta: number): Buffer {
  const body = Buffer.alloc(8);
  body.writeUInt32BE(streamId & 0x7fffffff, 0);
  body.writeUInt32BE(delta & 0x7fffffff, 4);
  return Buffer.concat([controlHeader(FrameType.WindowUpdate, 0, 8), body]);
}

function need(payload: Buffer, n: number, what: string): void {
  if (payload.length < n) throw new SpdyProtocolError(`${what} frame too short (${payload.length} bytes)`);
}

function decodeControl(type: number, flags: number, p: Buffer): SpdyFrame {
  switch (type) {
    case FrameType.SynStream:
      need(p, 10, 'SYN_STREAM');
      return {
        type: 'syn_stream',
        streamId: p.readUInt32BE(0) & 0x7fffffff,
        associatedId: p.readUInt32BE(4) & 0x7fffffff,
        priority: p[8] >> 5,
        flags,
        headerBlock: p.subarray(10),
      };
    case FrameType.SynReply:
      need(p, 4, 'SYN_REPLY');
      return { type: 'syn_reply', streamId: p.readUInt32BE(0) & 0x7fffffff, flags, headerBlock: p.subarray(4) };
    case FrameType.Headers:
      need(p, 4, 'HEADERS');
      return { type: 'headers', streamId: p.readUInt32BE(0) & 0x7fffffff, flags, headerBlock: p.subarray(4) };
    case FrameType.RstStream:
      need(p, 8, 'RST_STREAM');
      return { type: 'rst_stream', streamId: p.readUInt32BE(0) & 0x7fffffff, status: p.readUInt32BE(4) };
    case FrameType.Settings: {
      need(p, 4, 'SETTINGS');
      const count = p.readUInt32BE(0);
      if (p.length !== 4 + count * 8) throw new SpdyProtocolError(`SETTINGS frame length ${p.length} does not match ${count} entries`);
      const entries = [];
      for (let i = 0; i < count; i++) {
        const off = 4 + i * 8;
        entries.push({ flags: p[off], id: p.readUInt32BE(off) & 0xffffff, value: p.readUInt32BE(off + 4) });
      }
      return { type: 'settings', flags, entries };
    }
    case FrameType.Ping:
      need(p, 4, 'PING');
      return { type: 'ping', id: p.readUInt32BE(0) };
    case FrameType.GoAway:
      need(p, 4, 'GOAWAY');
      // SPDY/2 peers omit the status; treat it as OK.
      return { type: 'goaway', lastGoodStreamId: p.readUInt32BE(0) & 0x7fffffff, status: p.length >= 8 ? p.readUInt32BE(4) : 0 };
    case FrameType.WindowUpdate:
      need(p, 8, 'WINDOW_UPDATE');
      return { type: 'window_update', streamId: p.readUInt32BE(0) & 0x7fffffff, delta: p.readUInt32BE(4) & 0x7fffffff };
    default:
      // Unknown control frames must be ignored (spec §2.2.1); CREDENTIAL lands here too.
      return { type: 'unknown', frameType: type, flags, payload: p };
  }
}

/**
 * Largest control frame payload accepted: a SYN_STREAM/SYN_REPLY/HEADERS frame is 4–10 bytes
 * plus a compressed header block, and a block that decodes within MAX_HEADER_BLOCK_BYTES never
 * compresses to more than that (plus zlib's few bytes of framing). Larger control frames are
 * refused before they are buffered.
 */
export const MAX_CONTROL_FRAME_PAYLOAD = 256 * 1024 + 1024;

/** Decoded header blocks larger than this are refused (a decompression bomb guard). */
export const MAX_HEADER_BLOCK_BYTES = 256 * 1024;

/**
 * Incremental parser: feed socket chunks, get whole frames. The frame being received is
 * collected in one buffer that grows by doubling (never more than twice what arrived, so a
 * header announcing 16 MiB costs nothing until the bytes come), which keeps the work linear
 * however small the socket's chunks are.
 */
export class FrameParser {
  private readonly head = Buffer.alloc(8);
  private headFill = 0;
  private body: Buffer = Buffer.alloc(0);
  private bodyFill = 0;
  /** Payload length of the frame being received, once its header is complete. */
  private bodyLength = -1;

  constructor(
    private readonly maxPayload = MAX_FRAME_PAYLOAD,
    private readonly maxControlPayload = Math.min(maxPayload, MAX_CONTROL_FRAME_PAYLOAD),
  ) {}

  /** Bytes received but not yet part of a whole frame. */
  get pendingBytes(): number {
    return this.headFill + this.bodyFill;
  }

  /** Appends `chunk` and returns every frame now complete; throws SpdyProtocolError on garbage. */
  push(chunk: Buffer): SpdyFrame[] {
    const out: SpdyFrame[] = [];
    let off = 0;
    while (off < chunk.length || this.bodyLength === 0) {
      if (this.bodyLength < 0) {
        const n = Math.min(8 - this.headFill, chunk.length - off);
        chunk.copy(this.head, this.headFill, off, off + n);
        this.headFill += n;
        off += n;
        if (this.headFill < 8) break;
        this.startBody();
        continue;
      }
      const want = this.bodyLength - this.bodyFill;
      const n = Math.min(want, chunk.length - off);
      if (n > 0) {
        this.reserve(this.bodyFill + n);
        chunk.copy(this.body, this.bodyFill, off, off + n);
        this.bodyFill += n;
        off += n;
      }
      if (this.bodyFill < this.bodyLength) break;
      out.push(this.finishFrame());
    }
    return out;
  }

  private startBody(): void {
    const length = this.head.readUInt32BE(4) & 0xffffff;
    const control = (this.head[0] & 0x80) !== 0;
    if (length > this.maxPayload) throw new SpdyProtocolError(`frame of ${length} bytes exceeds the limit`);
    if (control) {
      const version = this.head.readUInt16BE(0) & 0x7fff;
      if (version !== SPDY_VERSION) throw new SpdyProtocolError(`unsupported SPDY version ${version}`);
      if (length > this.maxControlPayload) {
        throw new SpdyProtocolError(`control frame of ${length} bytes exceeds the limit of ${this.maxControlPayload}`);
      }
    }
    this.bodyLength = length;
    this.body = Buffer.alloc(0);
    this.bodyFill = 0;
  }

  /** Grows the body buffer to hold `needed` bytes (doubling, capped at the frame's length). */
  private reserve(needed: number): void {
    if (needed <= this.body.length) return;
    const size = Math.min(this.bodyLength, Math.max(needed, this.body.length * 2, 4096));
    const grown = Buffer.allocUnsafe(size);
    this.body.copy(grown, 0, 0, this.bodyFill);
    this.body = grown;
  }

  private finishFrame(): SpdyFrame {
    const head = this.head;
    const payload = this.body.subarray(0, this.bodyLength);
    const flags = head[4];
    // The next frame gets a fresh buffer: the payload returned here stays the caller's.
    this.body = Buffer.alloc(0);
    this.bodyFill = 0;
    this.bodyLength = -1;
    this.headFill = 0;
    if (head[0] & 0x80) return decodeControl(head.readUInt16BE(2), flags, payload);
    return { type: 'data', streamId: head.readUInt32BE(0) & 0x7fffffff, flags, data: payload };
  }
}
