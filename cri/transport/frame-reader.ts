/**
 * Splits a client's byte stream into HTTP/2 frames: checks the preface, then hands each whole
 * frame to the connection. Holds at most one partial frame (frames above our
 * SETTINGS_MAX_FRAME_SIZE are refused from their header alone).
 */
import { CLIENT_PREFACE, DEFAULT_MAX_FRAME_SIZE, ErrorCode, FRAME_HEADER_BYTES, Http2ConnectionError } from './frames';

/** Receives one frame; returns false to stop reading (the connection closed). */
export type FrameSink = (type: number, flags: number, streamId: number, payload: Buffer) => boolean;

/** Preface check and frame splitting for one connection. */
export class FrameReader {
  private input: Buffer | undefined;
  private prefaceDone = false;

  /** Input octets held while waiting for the rest of a frame. */
  get pendingBytes(): number {
    return this.input?.length ?? 0;
  }

  /** Drops held input (the connection is gone). */
  clear(): void {
    this.input = undefined;
  }

  /** Feeds one chunk; throws Http2ConnectionError for a bad preface or an oversized frame. */
  push(chunk: Buffer, sink: FrameSink): void {
    const buf = this.input ? Buffer.concat([this.input, chunk]) : chunk;
    this.input = undefined;
    let pos = 0;
    if (!this.prefaceDone) {
      const n = Math.min(buf.length, CLIENT_PREFACE.length);
      if (buf.compare(CLIENT_PREFACE, 0, n, 0, n) !== 0) throw new Http2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'invalid client preface');
      if (buf.length < CLIENT_PREFACE.length) {
        this.input = buf;
        return;
      }
      this.prefaceDone = true;
      pos = CLIENT_PREFACE.length;
    }
    while (buf.length - pos >= FRAME_HEADER_BYTES) {
      const length = (buf[pos] << 16) | (buf[pos + 1] << 8) | buf[pos + 2];
      if (length > DEFAULT_MAX_FRAME_SIZE) throw new Http2ConnectionError(ErrorCode.FRAME_SIZE_ERROR, `frame of ${length} bytes exceeds ${DEFAULT_MAX_FRAME_SIZE}`);
      if (buf.length - pos < FRAME_HEADER_BYTES + length) break;
      const type = buf[pos + 3];
      const flags = buf[pos + 4];
      const streamId = buf.readUInt32BE(pos + 5) & 0x7fffffff;
      const payload = buf.subarray(pos + FRAME_HEADER_BYTES, pos + FRAME_HEADER_BYTES + length);
      pos += FRAME_HEADER_BYTES + length;
      if (!sink(type, flags, streamId, payload)) return;
    }
    // A partial frame is copied so it does not pin the whole chunk.
    if (pos < buf.length) this.input = pos === 0 ? buf : Buffer.from(buf.subarray(pos));
  }
}
