/**
 * One SPDY stream as a Node Duplex. Writes become data frames (sent by the session, which owns
 * flow control and frame order); `end()` sends an empty FIN frame; a peer FIN ends the readable
 * side. Consumed bytes are credited back to the peer through the session (WINDOW_UPDATE).
 */
import { Duplex } from 'node:stream';
import type { SpdyHeaders } from './header-codec';

/** What a stream needs from its session. */
export interface StreamOwner {
  sendData(stream: SpdyStream, data: Buffer): Promise<void>;
  sendFin(stream: SpdyStream): Promise<void>;
  streamRead(stream: SpdyStream): void;
  streamDestroyed(stream: SpdyStream): void;
}

export class SpdyStream extends Duplex {
  /** Bytes delivered to the reader but not yet credited to the peer. */
  uncreditedBytes = 0;
  /** How many bytes the peer lets us send on this stream (when it does flow control). */
  sendWindow: number;
  /** Resolvers waiting for sendWindow to grow. */
  readonly windowWaiters: Array<() => void> = [];
  localFin = false;
  remoteFin = false;
  /** Set when the peer sent RST_STREAM. */
  resetByPeer = false;
  /** The reader refused more data (push returned false): crediting waits for _read. */
  readerFull = false;

  constructor(
    readonly id: number,
    /** Headers of SYN_STREAM (a stream the peer opened) or of SYN_REPLY (one we opened). */
    public headers: SpdyHeaders,
    private readonly owner: StreamOwner,
    initialSendWindow: number,
  ) {
    super({ allowHalfOpen: true, highWaterMark: 256 * 1024 });
    this.sendWindow = initialSendWindow;
  }

  /** The first value of header `name` (lower-case), or undefined. */
  header(name: string): string | undefined {
    return this.headers[name]?.[0];
  }

  /** Delivers payload from the peer; false when the reader's buffer is full. */
  deliver(data: Buffer): boolean {
    if (this.destroyed || this.readableEnded) return true;
    this.uncreditedBytes += data.length;
    const ok = this.push(data);
    if (!ok) this.readerFull = true;
    return ok;
  }

  /** The peer half-closed its side. */
  deliverEnd(): void {
    this.remoteFin = true;
    if (!this.destroyed) this.push(null);
  }

  /** Wakes writers waiting for window. */
  wakeWriters(): void {
    for (const w of this.windowWaiters.splice(0)) w();
  }

  override _read(): void {
    this.readerFull = false;
    this.owner.streamRead(this);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.owner.sendData(this, chunk).then(() => cb(), cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.owner.sendFin(this).then(() => cb(), cb);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.wakeWriters();
    this.owner.streamDestroyed(this);
    cb(err);
  }
}
