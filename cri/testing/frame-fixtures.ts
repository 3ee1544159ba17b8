/** Frames for the HTTP/2 and SPDY tests and fuzz targets. */
import { encodeDataFrame, encodeGoAway, encodePing, encodeRstStream, encodeSettings, encodeSynReply, encodeWindowUpdate } from '../streaming/spdy/frames';

/** An HTTP/2 frame: 9-byte header (length, type, flags, stream id) and `payload`. */
export function http2Frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(streamId, 5);
  return Buffer.concat([h, payload]);
}

/** `synStream` followed by one SPDY/3.1 frame of every other kind (reply, reset, settings, ping, goaway, window update, data). */
export function spdyFrameOfEachKind(synStream: Buffer): Buffer {
  return Buffer.concat([
    synStream,
    encodeSynReply(1, Buffer.from('r'), true),
    encodeRstStream(3, 5),
    encodeSettings([{ id: 7, value: 1 << 20 }, { id: 4, value: 100, flags: 1 }]),
    encodePing(42),
    encodeGoAway(9, 1),
    encodeWindowUpdate(0, 65536),
    encodeDataFrame(1, Buffer.from('payload'), true),
  ]);
}
