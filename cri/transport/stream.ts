/**
 * One HTTP/2 stream on the server side: its state (RFC 9113 5.1), its send window and the queue of
 * frames it still has to send. HEADERS are not flow-controlled but keep their place after queued
 * DATA; DATA leaves only as far as both the stream's and the connection's windows allow.
 */
import { FRAME_HEADER_BYTES, Flag, FrameType, writeFrameHeader, type ErrorCode } from './frames';

/** What the layer above (the gRPC call) hears from its stream. */
export interface StreamListener {
  /** A DATA payload (padding removed); `endStream` on the last. */
  onData(chunk: Buffer, endStream: boolean): void;
  /** The stream ended abnormally: RST_STREAM from the client, or the connection went away. */
  onReset(code: ErrorCode): void;
  /** Everything queued has been handed to the socket and the socket is not backed up. */
  onDrain(): void;
}

/** What a stream needs from its connection. */
export interface StreamOwner {
  /** Notes that `stream` has frames queued. */
  schedule(stream: ServerStream): void;
  /** Sends whatever the windows allow now. */
  flush(): void;
  /** Sends RST_STREAM and forgets the stream. */
  resetStream(stream: ServerStream, code: ErrorCode): void;
  readonly peerMaxFrameSize: number;
  connectionWindow: number;
  /** True while the socket's own buffer is over its high-water mark. */
  readonly backedUp: boolean;
}

interface OutItem {
  /** A header block, DATA payload, or frames already built whose DATA was charged to the windows. */
  kind: 'headers' | 'data' | 'framed';
  bytes: Buffer;
  offset: number;
  end: boolean;
}

/** A stream opened by a client HEADERS frame. */
export class ServerStream {
  listener: StreamListener | undefined;
  /** END_STREAM received. */
  remoteClosed = false;
  /** END_STREAM queued by us (it may still be waiting for window). */
  localEnding = false;
  /** END_STREAM sent. */
  localClosed = false;
  /** Reset by either side, or the connection closed. */
  reset = false;
  /** Bytes received since our last WINDOW_UPDATE for this stream. */
  unacked = 0;
  /** How much more the client may send on this stream. */
  recvWindow: number;
  private readonly queue: OutItem[] = [];
  /** The listener asked to hear when the queue has drained. */
  wantsWritable = false;

  constructor(
    readonly id: number,
    private readonly owner: StreamOwner,
    public sendWindow: number,
    recvWindow: number,
  ) {
    this.recvWindow = recvWindow;
  }

  /** True while frames wait for window. */
  get blocked(): boolean {
    return this.queue.length > 0;
  }

  /** Queues a header block (response headers or trailers). */
  sendHeaders(block: Buffer, endStream: boolean): void {
    if (this.reset || this.localEnding) return;
    this.queue.push({ kind: 'headers', bytes: block, offset: 0, end: endStream });
    if (endStream) this.localEnding = true;
    this.owner.schedule(this);
  }

  /** Queues DATA. */
  sendData(bytes: Buffer, endStream: boolean): void {
    if (this.reset || this.localEnding) return;
    this.queue.push({ kind: 'data', bytes, offset: 0, end: endStream });
    if (endStream) this.localEnding = true;
    this.owner.schedule(this);
  }

  /**
   * Queues a whole response: `headers`, one DATA frame of `prefix` + `payload`, and `trailers`
   * ending the stream. When nothing is queued ahead and the windows and frame size allow, the three
   * frames are built in one buffer (the DATA charged to the windows now, as sending it would);
   * otherwise they queue one by one like sendHeaders/sendData.
   */
  sendResponse(headers: Buffer, prefix: Buffer, payload: Uint8Array, trailers: Buffer): void {
    if (this.reset || this.localEnding) return;
    const owner = this.owner;
    const dataLength = prefix.length + payload.length;
    const maxFrame = owner.peerMaxFrameSize;
    if (this.queue.length > 0 || dataLength > this.sendWindow || dataLength > owner.connectionWindow || dataLength > maxFrame || headers.length > maxFrame || trailers.length > maxFrame) {
      const data = Buffer.allocUnsafe(dataLength);
      prefix.copy(data, 0);
      data.set(payload, prefix.length);
      this.sendHeaders(headers, false);
      this.sendData(data, false);
      this.sendHeaders(trailers, true);
      return;
    }
    const out = Buffer.allocUnsafe(3 * FRAME_HEADER_BYTES + headers.length + dataLength + trailers.length);
    let pos = 0;
    writeFrameHeader(out, pos, headers.length, FrameType.HEADERS, Flag.END_HEADERS, this.id);
    pos += FRAME_HEADER_BYTES + headers.copy(out, pos + FRAME_HEADER_BYTES);
    writeFrameHeader(out, pos, dataLength, FrameType.DATA, 0, this.id);
    pos += FRAME_HEADER_BYTES + prefix.copy(out, pos + FRAME_HEADER_BYTES);
    out.set(payload, pos);
    pos += payload.length;
    writeFrameHeader(out, pos, trailers.length, FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, this.id);
    trailers.copy(out, pos + FRAME_HEADER_BYTES);
    this.sendWindow -= dataLength;
    owner.connectionWindow -= dataLength;
    this.queue.push({ kind: 'framed', bytes: out, offset: 0, end: true });
    this.localEnding = true;
    owner.schedule(this);
  }

  /** Sends what was queued (as far as the windows allow), in one socket write with other streams' frames. */
  flush(): void {
    this.owner.flush();
  }

  /** Ends the stream with RST_STREAM `code` (e.g. CANCEL); queued frames are dropped. */
  resetWith(code: ErrorCode): void {
    if (this.reset) return;
    this.owner.resetStream(this, code);
  }

  /** Drops the queue; called by the connection when the stream is reset or the connection is gone. */
  discard(): void {
    this.reset = true;
    this.queue.length = 0;
  }

  /**
   * Moves queued frames into `out` while the windows allow. Returns true when the queue is empty.
   */
  drainInto(out: Buffer[]): boolean {
    const owner = this.owner;
    while (this.queue.length > 0) {
      const item = this.queue[0];
      if (item.kind === 'framed') {
        out.push(item.bytes);
      } else if (item.kind === 'headers') {
        pushHeaderFrames(out, this.id, item.bytes, item.end, owner.peerMaxFrameSize);
      } else {
        const left = item.bytes.length - item.offset;
        const n = Math.min(left, this.sendWindow, owner.connectionWindow, owner.peerMaxFrameSize);
        if (n <= 0 && left > 0) return false;
        const last = n === left;
        const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
        writeFrameHeader(header, 0, n, FrameType.DATA, last && item.end ? Flag.END_STREAM : 0, this.id);
        out.push(header);
        if (n > 0) out.push(item.offset === 0 && last ? item.bytes : item.bytes.subarray(item.offset, item.offset + n));
        this.sendWindow -= n;
        owner.connectionWindow -= n;
        item.offset += n;
        if (!last) continue;
      }
      this.queue.shift();
      if (item.end) this.localClosed = true;
    }
    return true;
  }
}

/** A header block as HEADERS plus CONTINUATION frames no larger than `maxFrame`. */
function pushHeaderFrames(out: Buffer[], streamId: number, block: Buffer, endStream: boolean, maxFrame: number): void {
  const endFlag = endStream ? Flag.END_STREAM : 0;
  if (block.length <= maxFrame) {
    const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + block.length);
    writeFrameHeader(frame, 0, block.length, FrameType.HEADERS, endFlag | Flag.END_HEADERS, streamId);
    block.copy(frame, FRAME_HEADER_BYTES);
    out.push(frame);
    return;
  }
  for (let off = 0; off < block.length; off += maxFrame) {
    const part = block.subarray(off, off + maxFrame);
    const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
    const type = off === 0 ? FrameType.HEADERS : FrameType.CONTINUATION;
    const flags = (off === 0 ? endFlag : 0) | (off + maxFrame >= block.length ? Flag.END_HEADERS : 0);
    writeFrameHeader(header, 0, part.length, type, flags, streamId);
    out.push(header, part);
  }
}
