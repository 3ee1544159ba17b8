/**
 * HTTP/2 framing (RFC 9113 section 4 and 6): frame types, flags, error codes, settings
 * identifiers, the frame header, and the encoders of the frames the server sends.
 */

/** The 24 octets every client connection starts with (RFC 9113 3.4). */
export const CLIENT_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export const FRAME_HEADER_BYTES = 9;

/** Frame types (RFC 9113 6). */
export const enum FrameType {
  DATA = 0x0,
  HEADERS = 0x1,
  PRIORITY = 0x2,
  RST_STREAM = 0x3,
  SETTINGS = 0x4,
  PUSH_PROMISE = 0x5,
  PING = 0x6,
  GOAWAY = 0x7,
  WINDOW_UPDATE = 0x8,
  CONTINUATION = 0x9,
}

/** Frame flags (the same bit means different things per type). */
export const enum Flag {
  END_STREAM = 0x1,
  ACK = 0x1,
  END_HEADERS = 0x4,
  PADDED = 0x8,
  PRIORITY = 0x20,
}

/** Error codes of RST_STREAM and GOAWAY (RFC 9113 7). */
export const enum ErrorCode {
  NO_ERROR = 0x0,
  PROTOCOL_ERROR = 0x1,
  INTERNAL_ERROR = 0x2,
  FLOW_CONTROL_ERROR = 0x3,
  SETTINGS_TIMEOUT = 0x4,
  STREAM_CLOSED = 0x5,
  FRAME_SIZE_ERROR = 0x6,
  REFUSED_STREAM = 0x7,
  CANCEL = 0x8,
  COMPRESSION_ERROR = 0x9,
  CONNECT_ERROR = 0xa,
  ENHANCE_YOUR_CALM = 0xb,
  INADEQUATE_SECURITY = 0xc,
  HTTP_1_1_REQUIRED = 0xd,
}

/** SETTINGS identifiers (RFC 9113 6.5.2). */
export const enum SettingId {
  HEADER_TABLE_SIZE = 0x1,
  ENABLE_PUSH = 0x2,
  MAX_CONCURRENT_STREAMS = 0x3,
  INITIAL_WINDOW_SIZE = 0x4,
  MAX_FRAME_SIZE = 0x5,
  MAX_HEADER_LIST_SIZE = 0x6,
}

export const DEFAULT_WINDOW = 65535;
export const MAX_WINDOW = 0x7fffffff;
export const DEFAULT_MAX_FRAME_SIZE = 16384;
export const MAX_MAX_FRAME_SIZE = 16777215;

/** A connection error: the connection ends with GOAWAY carrying `code` (RFC 9113 5.4.1). */
export class Http2ConnectionError extends Error {
  override readonly name = 'Http2ConnectionError';
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A stream error: only the stream ends, with RST_STREAM carrying `code` (RFC 9113 5.4.2). */
export class Http2StreamError extends Error {
  override readonly name = 'Http2StreamError';
  constructor(
    readonly streamId: number,
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Writes a frame header for `length` payload octets into `out` at `at`. */
export function writeFrameHeader(out: Buffer, at: number, length: number, type: number, flags: number, streamId: number): void {
  out[at] = (length >>> 16) & 0xff;
  out[at + 1] = (length >>> 8) & 0xff;
  out[at + 2] = length & 0xff;
  out[at + 3] = type;
  out[at + 4] = flags;
  out.writeUInt32BE(streamId >>> 0, at + 5);
}

/** One whole frame (header + payload) in a new buffer. */
export function encodeFrame(type: number, flags: number, streamId: number, payload?: Uint8Array): Buffer {
  const length = payload?.length ?? 0;
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + length);
  writeFrameHeader(out, 0, length, type, flags, streamId);
  if (payload) out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

/** A SETTINGS frame with the given (id, value) pairs. */
export function encodeSettings(settings: ReadonlyArray<readonly [SettingId, number]>): Buffer {
  const payload = Buffer.allocUnsafe(settings.length * 6);
  settings.forEach(([id, value], i) => {
    payload.writeUInt16BE(id, i * 6);
    payload.writeUInt32BE(value >>> 0, i * 6 + 2);
  });
  return encodeFrame(FrameType.SETTINGS, 0, 0, payload);
}

/** The (id, value) pairs of a client SETTINGS payload, values checked (RFC 9113 6.5.2); throws a connection error. */
export function readSettings(payload: Buffer): Array<[number, number]> {
  if (payload.length % 6 !== 0) throw new Http2ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'SETTINGS frame size');
  const out: Array<[number, number]> = [];
  for (let at = 0; at < payload.length; at += 6) {
    const id = payload.readUInt16BE(at);
    const value = payload.readUInt32BE(at + 2);
    if (id === SettingId.ENABLE_PUSH && value > 1) throw new Http2ConnectionError(ErrorCode.PROTOCOL_ERROR, `SETTINGS_ENABLE_PUSH ${value}`);
    if (id === SettingId.INITIAL_WINDOW_SIZE && value > MAX_WINDOW) throw new Http2ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, `SETTINGS_INITIAL_WINDOW_SIZE ${value}`);
    if (id === SettingId.MAX_FRAME_SIZE && (value < DEFAULT_MAX_FRAME_SIZE || value > MAX_MAX_FRAME_SIZE)) throw new Http2ConnectionError(ErrorCode.PROTOCOL_ERROR, `SETTINGS_MAX_FRAME_SIZE ${value}`);
    out.push([id, value]);
  }
  return out;
}

/** The SETTINGS acknowledgement. */
export const SETTINGS_ACK: Buffer = encodeFrame(FrameType.SETTINGS, Flag.ACK, 0);

/** A WINDOW_UPDATE frame adding `increment` to the window of `streamId` (0: the connection). */
export function encodeWindowUpdate(streamId: number, increment: number): Buffer {
  const payload = Buffer.allocUnsafe(4);
  payload.writeUInt32BE(increment, 0);
  return encodeFrame(FrameType.WINDOW_UPDATE, 0, streamId, payload);
}

/** A RST_STREAM frame. */
export function encodeRstStream(streamId: number, code: ErrorCode): Buffer {
  const payload = Buffer.allocUnsafe(4);
  payload.writeUInt32BE(code, 0);
  return encodeFrame(FrameType.RST_STREAM, 0, streamId, payload);
}

/** A GOAWAY frame naming the last stream the server processed (or may still process). */
export function encodeGoAway(lastStreamId: number, code: ErrorCode, debug = ''): Buffer {
  const text = Buffer.from(debug.slice(0, 200), 'utf8');
  const payload = Buffer.allocUnsafe(8 + text.length);
  payload.writeUInt32BE(lastStreamId, 0);
  payload.writeUInt32BE(code, 4);
  text.copy(payload, 8);
  return encodeFrame(FrameType.GOAWAY, 0, 0, payload);
}
