/**
 * Assembles a client header block from HEADERS and CONTINUATION frames (RFC 9113 6.2, 6.10):
 * padding and priority fields removed, nothing else may come between the frames, and the block
 * is bounded in octets and in frame count (CONTINUATION flood).
 */
import { ErrorCode, Flag, Http2ConnectionError, Http2StreamError } from './frames';
import type { ConnectionLimits } from './limits';

/** A complete header block of one stream. */
export interface HeaderBlock {
  streamId: number;
  endStream: boolean;
  bytes: Buffer;
}

interface Pending {
  streamId: number;
  endStream: boolean;
  fragments: Buffer[];
  bytes: number;
  frames: number;
}

/** One connection's header block in progress. */
export class HeaderBlockAssembler {
  private pending: Pending | undefined;

  constructor(private readonly limits: Pick<ConnectionLimits, 'maxHeaderBlockBytes' | 'maxContinuationFrames'>) {}

  /** True between a HEADERS without END_HEADERS and the CONTINUATION that ends it. */
  get open(): boolean {
    return this.pending !== undefined;
  }

  /** Octets held for the block in progress. */
  get pendingBytes(): number {
    return this.pending?.bytes ?? 0;
  }

  clear(): void {
    this.pending = undefined;
  }

  /** A HEADERS frame: the block when END_HEADERS is set, else undefined (CONTINUATION follows). */
  headers(flags: number, streamId: number, payload: Buffer): HeaderBlock | undefined {
    if (streamId === 0) throw new Http2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'HEADERS on stream 0');
    let fragment = unpad(flags, payload, streamId, true);
    if (flags & Flag.PRIORITY) {
      if (fragment.length < 5) throw new Http2ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'HEADERS priority fields missing');
      if ((fragment.readUInt32BE(0) & 0x7fffffff) === streamId) throw new Http2StreamError(streamId, ErrorCode.PROTOCOL_ERROR, 'stream depends on itself');
      fragment = fragment.subarray(5);
    }
    const pending: Pending = { streamId, endStream: (flags & Flag.END_STREAM) !== 0, fragments: [fragment], bytes: fragment.length, frames: 0 };
    this.check(pending);
    if (flags & Flag.END_HEADERS) return { streamId, endStream: pending.endStream, bytes: fragment };
    this.pending = pending;
    return undefined;
  }

  /** A CONTINUATION frame: the block once END_HEADERS is set. */
  continuation(flags: number, streamId: number, payload: Buffer): HeaderBlock | undefined {
    const pending = this.pending;
    if (!pending || pending.streamId !== streamId) throw new Http2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'CONTINUATION without a header block on that stream');
    pending.fragments.push(payload);
    pending.bytes += payload.length;
    pending.frames += 1;
    this.check(pending);
    if ((flags & Flag.END_HEADERS) === 0) return undefined;
    this.pending = undefined;
    return { streamId, endStream: pending.endStream, bytes: Buffer.concat(pending.fragments) };
  }

  private check(pending: Pending): void {
    if (pending.bytes > this.limits.maxHeaderBlockBytes) throw new Http2ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, `header block over ${this.limits.maxHeaderBlockBytes} bytes`);
    if (pending.frames > this.limits.maxContinuationFrames) throw new Http2ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, `header block in over ${this.limits.maxContinuationFrames} CONTINUATION frames`);
  }
}

/** The payload without padding (RFC 9113 6.1); padding as long as the frame is a connection error. */
export function unpad(flags: number, payload: Buffer, streamId: number, headers = false): Buffer {
  if ((flags & Flag.PADDED) === 0) return payload;
  if (payload.length < 1) throw new Http2ConnectionError(ErrorCode.FRAME_SIZE_ERROR, `padded frame on stream ${streamId} without pad length`);
  const pad = payload[0];
  const min = headers && flags & Flag.PRIORITY ? 6 : 1;
  if (pad + min > payload.length) throw new Http2ConnectionError(ErrorCode.PROTOCOL_ERROR, `padding longer than the frame on stream ${streamId}`);
  return payload.subarray(1, payload.length - pad);
}
