/**
 * A Duplex around a client connection that rewrites the HTTP/2 `:authority` of old CRI clients.
 *
 * kubelet and crictl up to 1.29 (grpc-go with a unix target) send the socket path, e.g.
 * `/run/berth/berth.sock`, as `:authority`; Node's HTTP/2 server rejects that stream with
 * PROTOCOL_ERROR. We parse the client->server byte stream into frames, join each header block
 * (HEADERS + CONTINUATION, padding and priority removed/kept as the spec allows), let
 * HeaderBlockRewriter replace invalid authorities, and re-frame the block. Everything else
 * (preface, SETTINGS, DATA, …) passes through untouched, DATA without buffering whole frames.
 * The server->client direction is not touched.
 */
import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { HeaderBlockRewriter } from './header-block-rewrite';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const FRAME_HEADER_BYTES = 9;
const FRAME_HEADERS = 0x1;
const FRAME_CONTINUATION = 0x9;
const FLAG_END_STREAM = 0x1;
const FLAG_END_HEADERS = 0x4;
const FLAG_PADDED = 0x8;
const FLAG_PRIORITY = 0x20;
/** The smallest SETTINGS_MAX_FRAME_SIZE any peer must accept; re-framed blocks fit in it. */
const MAX_OUT_FRAME_PAYLOAD = 16384;
/** Upper bound of a joined header block we are willing to buffer. */
const MAX_HEADER_BLOCK_BYTES = 1 << 20;

/** A malformed HTTP/2 byte stream from the client. */
export class Http2FramingError extends Error {
  override readonly name = 'Http2FramingError';
}

interface PendingHeaders {
  streamId: number;
  flags: number;
  priority: Buffer | undefined;
  fragments: Buffer[];
  size: number;
}

/**
 * Incremental client->server transformer: `push(chunk)` returns the bytes to forward.
 * Separate from the Duplex so it can be tested on crafted byte sequences.
 */
export class AuthorityRewriter {
  private readonly headerBlocks = new HeaderBlockRewriter();
  /** Bytes received but not processed yet, kept as chunks until `need` bytes are there. */
  private held: Buffer[] = [];
  private heldBytes = 0;
  /** Bytes needed before processing can go on (the preface, a frame header, a whole header frame). */
  private need = PREFACE.length;
  private prefaceSeen = false;
  /** Bytes of a non-header frame payload still to pass through. */
  private passthrough = 0;
  private pending: PendingHeaders | undefined;
  /** Number of `:authority` values replaced so far. */
  rewrittenCount = 0;

  /**
   * Consumes client bytes, returns what to forward to the HTTP/2 server (maybe empty). Incomplete
   * units are held as chunks and joined once, when complete, so the work stays linear in the input.
   */
  push(chunk: Buffer): Buffer {
    if (this.passthrough > 0 && this.heldBytes === 0) {
      // Inside a DATA (or other non-header) payload: stream it.
      const n = Math.min(this.passthrough, chunk.length);
      this.passthrough -= n;
      if (n === chunk.length) return chunk;
      const rest = this.push(chunk.subarray(n));
      return rest.length === 0 ? chunk.subarray(0, n) : Buffer.concat([chunk.subarray(0, n), rest]);
    }
    if (chunk.length > 0) {
      this.held.push(chunk);
      this.heldBytes += chunk.length;
    }
    if (this.heldBytes < this.need && !(this.prefaceSeen && this.passthrough > 0)) return this.prefixCheck();
    let data = this.held.length === 1 ? this.held[0] : Buffer.concat(this.held, this.heldBytes);
    this.held = [];
    this.heldBytes = 0;
    const out: Buffer[] = [];
    if (!this.prefaceSeen) {
      // Not HTTP/2 prior knowledge: pass everything through and let the server reject it.
      if (!data.subarray(0, PREFACE.length).equals(PREFACE)) return this.giveUp(data, out);
      out.push(data.subarray(0, PREFACE.length));
      data = data.subarray(PREFACE.length);
      this.prefaceSeen = true;
    }
    this.need = FRAME_HEADER_BYTES;
    while (data.length > 0) {
      if (this.passthrough > 0) {
        const n = Math.min(this.passthrough, data.length);
        out.push(data.subarray(0, n));
        data = data.subarray(n);
        this.passthrough -= n;
        continue;
      }
      if (data.length < FRAME_HEADER_BYTES) break;
      const length = data.readUIntBE(0, 3);
      const type = data[3];
      const isHeaderFrame = type === FRAME_HEADERS || type === FRAME_CONTINUATION;
      if (this.pending && type !== FRAME_CONTINUATION) {
        throw new Http2FramingError(`expected CONTINUATION on stream ${this.pending.streamId}, got frame type ${type}`);
      }
      if (!isHeaderFrame) {
        out.push(data.subarray(0, FRAME_HEADER_BYTES));
        data = data.subarray(FRAME_HEADER_BYTES);
        this.passthrough = length;
        continue;
      }
      // Refused before it is buffered: nothing legitimate comes near this (the server's frames are 16 KiB).
      if (length + (this.pending?.size ?? 0) > MAX_HEADER_BLOCK_BYTES) throw new Http2FramingError(`header block too large (over ${MAX_HEADER_BLOCK_BYTES} bytes)`);
      if (data.length < FRAME_HEADER_BYTES + length) {
        this.need = FRAME_HEADER_BYTES + length;
        break;
      }
      const frame = data.subarray(0, FRAME_HEADER_BYTES + length);
      data = data.subarray(FRAME_HEADER_BYTES + length);
      const result = this.headerFrame(frame);
      if (result) out.push(result);
    }
    if (data.length > 0) {
      // Copied: the caller may reuse its chunk.
      this.held = [Buffer.from(data)];
      this.heldBytes = data.length;
    }
    return out.length === 1 ? out[0] : Buffer.concat(out);
  }

  /** While the preface is incomplete, bytes that cannot begin it are passed through at once. */
  private prefixCheck(): Buffer {
    if (this.prefaceSeen) return Buffer.alloc(0);
    const data = Buffer.concat(this.held, this.heldBytes);
    if (PREFACE.subarray(0, data.length).equals(data)) {
      this.held = [data];
      return Buffer.alloc(0);
    }
    this.held = [];
    this.heldBytes = 0;
    return this.giveUp(data, []);
  }

  /** Handles a HEADERS or CONTINUATION frame; returns bytes to forward once the block is complete. */
  private headerFrame(frame: Buffer): Buffer | undefined {
    const type = frame[3];
    const flags = frame[4];
    const streamId = frame.readUInt32BE(5) & 0x7fffffff;
    let payload = frame.subarray(FRAME_HEADER_BYTES);
    if (type === FRAME_HEADERS) {
      if (this.pending) throw new Http2FramingError(`HEADERS on stream ${streamId} inside an open header block`);
      let priority: Buffer | undefined;
      if (flags & FLAG_PADDED) {
        if (payload.length < 1) throw new Http2FramingError('padded HEADERS frame without pad length');
        const padLength = payload[0];
        if (padLength >= payload.length) throw new Http2FramingError('HEADERS padding exceeds the frame');
        payload = payload.subarray(1, payload.length - padLength);
      }
      if (flags & FLAG_PRIORITY) {
        if (payload.length < 5) throw new Http2FramingError('HEADERS frame too short for its priority fields');
        priority = payload.subarray(0, 5);
        payload = payload.subarray(5);
      }
      this.pending = { streamId, flags, priority, fragments: [payload], size: payload.length };
    } else {
      if (!this.pending || this.pending.streamId !== streamId) {
        throw new Http2FramingError(`CONTINUATION on stream ${streamId} without an open header block`);
      }
      this.pending.fragments.push(payload);
      this.pending.size += payload.length;
      // The flags that matter (END_STREAM, PRIORITY) come from the HEADERS frame.
      this.pending.flags = (this.pending.flags & ~FLAG_END_HEADERS) | (flags & FLAG_END_HEADERS);
    }
    if (!(this.pending.flags & FLAG_END_HEADERS)) return undefined;
    const pending = this.pending;
    this.pending = undefined;
    const joined = pending.fragments.length === 1 ? pending.fragments[0] : Buffer.concat(pending.fragments);
    const { block, rewritten } = this.headerBlocks.rewrite(joined);
    this.rewrittenCount += rewritten;
    // Untouched single-frame blocks go out byte for byte (padding and all).
    if (rewritten === 0 && pending.fragments.length === 1 && type === FRAME_HEADERS) return frame;
    return encodeHeaderFrames(pending.streamId, pending.flags & FLAG_END_STREAM, pending.priority, block);
  }

  private giveUp(data: Buffer, out: Buffer[]): Buffer {
    this.prefaceSeen = true;
    this.need = 0;
    this.passthrough = Number.POSITIVE_INFINITY;
    out.push(data);
    return Buffer.concat(out);
  }
}

/** Frames a header block as HEADERS (+ CONTINUATION) with payloads of at most 16 KiB. */
export function encodeHeaderFrames(streamId: number, endStream: number, priority: Buffer | undefined, block: Buffer): Buffer {
  const frames: Buffer[] = [];
  const firstRoom = MAX_OUT_FRAME_PAYLOAD - (priority ? priority.length : 0);
  let offset = 0;
  let first = true;
  do {
    const room = first ? firstRoom : MAX_OUT_FRAME_PAYLOAD;
    const fragment = block.subarray(offset, offset + room);
    offset += fragment.length;
    const last = offset >= block.length;
    let flags = last ? FLAG_END_HEADERS : 0;
    const parts: Buffer[] = [];
    if (first) {
      flags |= endStream ? FLAG_END_STREAM : 0;
      if (priority) {
        flags |= FLAG_PRIORITY;
        parts.push(priority);
      }
    }
    parts.push(fragment);
    const payloadLength = parts.reduce((n, p) => n + p.length, 0);
    const header = Buffer.alloc(FRAME_HEADER_BYTES);
    header.writeUIntBE(payloadLength, 0, 3);
    header[3] = first ? FRAME_HEADERS : FRAME_CONTINUATION;
    header[4] = flags;
    header.writeUInt32BE(streamId & 0x7fffffff, 5);
    frames.push(header, ...parts);
    first = false;
  } while (offset < block.length);
  return Buffer.concat(frames);
}

/** Options of AuthorityRewriteStream. */
export interface AuthorityRewriteOptions {
  /** Called once when the client's bytes cannot be parsed; the connection is then destroyed. */
  onProtocolError?: (err: Error) => void;
}

/** The socket as grpc-js's HTTP/2 server sees it, with client `:authority` values fixed. */
export class AuthorityRewriteStream extends Duplex {
  private readonly rewriter = new AuthorityRewriter();

  constructor(
    private readonly socket: Socket,
    private readonly options: AuthorityRewriteOptions = {},
  ) {
    super({ allowHalfOpen: false });
    socket.on('data', (chunk: Buffer) => this.onClientData(chunk));
    socket.on('end', () => this.push(null));
    socket.on('close', () => this.destroy());
    socket.on('error', (err) => this.destroy(err));
  }

  /** Number of `:authority` values replaced on this connection. */
  get rewrittenCount(): number {
    return this.rewriter.rewrittenCount;
  }

  private onClientData(chunk: Buffer): void {
    let out: Buffer;
    try {
      out = this.rewriter.push(chunk);
    } catch (err) {
      this.options.onProtocolError?.(err as Error);
      this.socket.destroy();
      this.destroy();
      return;
    }
    if (out.length > 0 && !this.push(out)) this.socket.pause();
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.socket.write(chunk, callback);
  }

  // Node's HTTP/2 over a JS stream corks and writes several buffers per flush; pass them as one.
  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    this.socket.write(chunks.length === 1 ? chunks[0].chunk : Buffer.concat(chunks.map((c) => c.chunk)), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.socket.end(callback);
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.socket.destroy();
    callback(err);
  }
}
