/**
 * The server side of one HTTP/2 connection (RFC 9113) on a plain socket: preface, SETTINGS,
 * PING, header blocks (HEADERS + CONTINUATION, padding, priority), DATA with flow control both
 * ways, RST_STREAM, GOAWAY, stream id rules and the bounds of limits.ts. Frames produced while
 * handling one chunk of input, and everything a flush can send, leave in one socket write.
 */
import type { Duplex } from 'node:stream';
import { HpackError } from '../hpack';
import {
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_WINDOW,
  encodeFrame,
  encodeGoAway,
  encodeRstStream,
  encodeSettings,
  encodeWindowUpdate,
  ErrorCode,
  Flag,
  FrameType,
  Http2ConnectionError,
  Http2StreamError,
  MAX_WINDOW,
  readSettings,
  SETTINGS_ACK,
  SettingId,
} from './frames';
import { FrameReader } from './frame-reader';
import { HeaderBlockAssembler, unpad, type HeaderBlock } from './header-blocks';
import { HpackDecoder, type DecodedHeaders } from './hpack-decoder';
import { TokenBucket, type ConnectionLimits } from './limits';
import { ServerStream, type StreamListener, type StreamOwner } from './stream';

/** Opens the layer above for each new request stream. */
export interface StreamAcceptor {
  /** A client opened `stream` with `headers`; returns who hears its data and resets. */
  openStream(stream: ServerStream, headers: DecodedHeaders, endStream: boolean, connection: Http2ServerConnection): StreamListener;
}

/** Our SETTINGS_HEADER_TABLE_SIZE: HTTP/2's default. */
const HEADER_TABLE_BYTES = 4096;

/** One client connection. */
export class Http2ServerConnection implements StreamOwner {
  peerMaxFrameSize = DEFAULT_MAX_FRAME_SIZE;
  connectionWindow = DEFAULT_WINDOW;
  /** The peer's SETTINGS_HEADER_TABLE_SIZE; our encoder never indexes, so any value is honoured. */
  peerHeaderTableSize = 4096;
  private peerInitialWindow = DEFAULT_WINDOW;
  private readonly streams = new Map<number, ServerStream>();
  private readonly scheduled = new Set<ServerStream>();
  private readonly decoder: HpackDecoder;
  private readonly resets: TokenBucket;
  private readonly reader = new FrameReader();
  private readonly blocks: HeaderBlockAssembler;
  private out: Buffer[] = [];
  private settingsSeen = false;
  private lastStreamId = 0;
  private recvWindow: number;
  private recvUnacked = 0;
  private queuedControl = 0;
  private bufferedRequestBytes = 0;
  private goAwayId: number | undefined;
  /** No more input is read or output written (connection error, or the socket closed). */
  private closed = false;
  private socketGone = false;
  private prefaceTimer: NodeJS.Timeout | undefined;
  private readonly closeWaiters: Array<() => void> = [];
  private readonly idleWaiters: Array<() => void> = [];

  constructor(
    private readonly socket: Duplex,
    private readonly acceptor: StreamAcceptor,
    readonly limits: ConnectionLimits,
    private readonly onProtocolError: (err: Error) => void,
  ) {
    this.decoder = new HpackDecoder(HEADER_TABLE_BYTES, limits.maxHeaderListBytes);
    this.blocks = new HeaderBlockAssembler(limits);
    this.resets = new TokenBucket(limits.resetBurst, limits.resetsPerSecond);
    this.recvWindow = Math.max(DEFAULT_WINDOW, limits.connectionWindow);
    this.out.push(
      encodeSettings([
        [SettingId.MAX_CONCURRENT_STREAMS, limits.maxConcurrentStreams],
        [SettingId.INITIAL_WINDOW_SIZE, limits.streamWindow],
        [SettingId.MAX_HEADER_LIST_SIZE, limits.maxHeaderListBytes],
        [SettingId.ENABLE_PUSH, 0],
      ]),
    );
    if (this.recvWindow > DEFAULT_WINDOW) this.out.push(encodeWindowUpdate(0, this.recvWindow - DEFAULT_WINDOW));
    this.writeOut();
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('drain', () => this.drained());
    socket.on('close', () => this.socketClosed());
    socket.on('error', () => undefined);
    if (limits.prefaceTimeoutMs > 0) {
      this.prefaceTimer = setTimeout(() => this.fail(new Http2ConnectionError(ErrorCode.SETTINGS_TIMEOUT, 'no client preface and SETTINGS in time')), limits.prefaceTimeoutMs);
      this.prefaceTimer.unref();
    }
  }

  /** Input octets held while waiting for the rest of a frame (bounded by one frame). */
  get pendingInputBytes(): number {
    return this.reader.pendingBytes + this.blocks.pendingBytes;
  }

  /** Streams open now. */
  get activeStreams(): number {
    return this.streams.size;
  }

  get backedUp(): boolean {
    return this.socket.writableNeedDrain;
  }

  /** Resolves once the socket has closed. */
  whenClosed(): Promise<void> {
    if (this.socketGone) return Promise.resolve();
    return new Promise((resolve) => this.closeWaiters.push(resolve));
  }

  /** Resolves once no stream is open (or the connection closed). */
  whenIdle(): Promise<void> {
    if (this.closed || this.streams.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Graceful shutdown: GOAWAY naming the last stream we accept; the socket ends once they are done. */
  goAway(): void {
    if (this.closed || this.goAwayId !== undefined) return;
    this.goAwayId = this.lastStreamId;
    this.out.push(encodeGoAway(this.goAwayId, ErrorCode.NO_ERROR));
    this.flush();
    if (this.streams.size === 0) this.socket.end();
  }

  /** Cancels every open stream and closes the socket. */
  destroy(): void {
    if (this.closed) return;
    for (const stream of [...this.streams.values()]) {
      this.resetStream(stream, ErrorCode.CANCEL);
      stream.listener?.onReset(ErrorCode.CANCEL);
    }
    if (this.goAwayId === undefined) this.out.push(encodeGoAway(this.lastStreamId, ErrorCode.NO_ERROR));
    this.flush();
    // Once our last frames are out the socket goes, whether or not the client closes its side.
    this.socket.end(() => this.socket.destroy());
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  /** Reserves request buffer space across the connection; false when the connection holds too much. */
  reserveRequestBytes(n: number): boolean {
    if (this.bufferedRequestBytes + n > this.limits.maxBufferedRequestBytes) return false;
    this.bufferedRequestBytes += n;
    return true;
  }

  /** Gives back what reserveRequestBytes took. */
  releaseRequestBytes(n: number): void {
    this.bufferedRequestBytes -= n;
  }

  schedule(stream: ServerStream): void {
    this.scheduled.add(stream);
  }

  flush(): void {
    if (this.closed) return;
    const ready: ServerStream[] = [];
    for (const stream of this.scheduled) {
      if (stream.reset) {
        this.scheduled.delete(stream);
        continue;
      }
      if (!stream.drainInto(this.out)) {
        if (this.connectionWindow <= 0) break;
        continue;
      }
      this.scheduled.delete(stream);
      if (stream.localClosed) this.localDone(stream);
      else if (stream.wantsWritable) ready.push(stream);
    }
    this.writeOut();
    if (ready.length > 0 && !this.backedUp) for (const stream of ready) this.notifyWritable(stream);
  }

  resetStream(stream: ServerStream, code: ErrorCode): void {
    if (stream.reset) return;
    stream.discard();
    this.queueControl(encodeRstStream(stream.id, code));
    this.forget(stream);
    this.writeOut();
  }

  private localDone(stream: ServerStream): void {
    // RFC 9113 8.1: a response that ends before the request did is followed by RST_STREAM NO_ERROR.
    if (!stream.remoteClosed) {
      stream.discard();
      this.out.push(encodeRstStream(stream.id, ErrorCode.NO_ERROR));
    }
    this.forget(stream);
  }

  private forget(stream: ServerStream): void {
    if (!this.streams.delete(stream.id)) return;
    this.scheduled.delete(stream);
    if (this.streams.size > 0) return;
    for (const wake of this.idleWaiters.splice(0)) wake();
    if (this.goAwayId !== undefined && !this.closed) {
      this.writeOut();
      this.socket.end();
    }
  }

  private notifyWritable(stream: ServerStream): void {
    stream.wantsWritable = false;
    stream.listener?.onDrain();
  }

  private drained(): void {
    this.queuedControl = 0;
    for (const stream of this.streams.values()) if (stream.wantsWritable && !stream.blocked) this.notifyWritable(stream);
  }

  private writeOut(): void {
    const out = this.out;
    if (out.length === 0 || this.closed) return;
    this.out = [];
    this.socket.write(out.length === 1 ? out[0] : Buffer.concat(out));
  }

  private queueControl(frame: Buffer): void {
    this.out.push(frame);
    if (this.socket.writableNeedDrain && ++this.queuedControl > this.limits.maxQueuedControlFrames) {
      throw new Http2ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, 'too many control frames queued while the client does not read');
    }
  }

  private socketClosed(): void {
    this.closed = true;
    this.socketGone = true;
    if (this.prefaceTimer) clearTimeout(this.prefaceTimer);
    this.cancelAll();
    for (const wake of this.idleWaiters.splice(0)) wake();
    for (const wake of this.closeWaiters.splice(0)) wake();
  }

  /** Forgets every stream, telling each call it was cancelled. */
  private cancelAll(): void {
    const open = [...this.streams.values()];
    this.streams.clear();
    this.scheduled.clear();
    for (const stream of open) {
      stream.discard();
      stream.listener?.onReset(ErrorCode.CANCEL);
    }
  }

  /** Ends the connection after a connection error. */
  private fail(err: Http2ConnectionError): void {
    if (this.closed) return;
    this.onProtocolError(err);
    this.cancelAll();
    this.out = [encodeGoAway(this.lastStreamId, err.code, err.message)];
    this.writeOut();
    this.closed = true;
    this.reader.clear();
    this.blocks.clear();
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  private receive(chunk: Buffer): void {
    if (this.closed) return;
    try {
      this.parse(chunk);
      this.flush();
    } catch (err) {
      if (err instanceof Http2ConnectionError) this.fail(err);
      else if (err instanceof HpackError) this.fail(new Http2ConnectionError(ErrorCode.COMPRESSION_ERROR, err.message));
      // A bug of ours must cost this connection, not the daemon.
      else this.fail(new Http2ConnectionError(ErrorCode.INTERNAL_ERROR, `internal error: ${err instanceof Error ? err.message : String(err)}`));
    }
  }

  private parse(chunk: Buffer): void {
    this.reader.push(chunk, (type, flags, streamId, payload) => {
      try {
        this.frame(type, flags, streamId, payload);
      } catch (err) {
        if (!(err instanceof Http2StreamError)) throw err;
        const stream = this.streams.get(err.streamId);
        if (stream) {
          this.resetStream(stream, err.code);
          stream.listener?.onReset(err.code);
        } else {
          this.queueControl(encodeRstStream(err.streamId, err.code));
        }
      }
      return !this.closed;
    });
  }

  private frame(type: number, flags: number, streamId: number, payload: Buffer): void {
    if (!this.settingsSeen && type !== FrameType.SETTINGS) throw new Http2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'the client preface must end with SETTINGS');
    if (this.blocks.open && type !== FrameType.CONTINUATION) throw new Http2ConnectionError(ErrorCode.PROTOCOL_ERROR, `frame type ${type} inside a header block`);
    switch (type) {
      case FrameType.DATA:
        return this.onData(flags, streamId, payload);
      case FrameType.HEADERS:
        return this.onHeaders(flags, streamId, payload);
      case FrameType.PRIORITY:
        if (streamId === 0) throw new Http2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'PRIORITY on stream 0');
        if (payload.length !== 5) throw new Http2StreamError(streamId, ErrorCode.FRAME_SIZE_ERROR, 'PRIORITY frame size');
        return;
      case FrameType.RST_STREAM:
        return this.onRstStream(streamId, payload);
      case FrameType.SETTINGS:
        return this.onSettings(flags, streamId, payload);
      case FrameType.PUSH_PROMISE:
        throw new Http2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'PUSH_PROMISE from a client');
      case FrameType.PING:
        if (streamId !== 0) throw new Http2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'PING on a stream');
        if (payload.length !== 8) throw new Http2ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'PING frame size');
        if ((flags & Flag.ACK) === 0) this.queueControl(encodeFrame(FrameType.PING, Flag.ACK, 0, payload));
        return;
      case FrameType.GOAWAY:
        if (streamId !== 0) throw new Http2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'GOAWAY on a stream');
        if (payload.length < 8) throw new Http2ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'GOAWAY frame size');
        return;
      case FrameType.WINDOW_UPDATE:
        return this.onWindowUpdate(streamId, payload);
      case FrameType.CONTINUATION:
        return this.onContinuation(flags, streamId, payload);
      default:
        // RFC 9113 5.5: unknown frame types are ignored.
        return;
    }
  }

  private onSettings(flags: number, streamId: number, payload: Buffer): void {
    if (streamId !== 0) throw new Http2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'SETTINGS on a stream');
    if (flags & Flag.ACK) {
      if (payload.length !== 0) throw new Http2ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'SETTINGS ACK with a payload');
      return;
    }
    for (const [id, value] of readSettings(payload)) {
      if (id === SettingId.HEADER_TABLE_SIZE) this.peerHeaderTableSize = value;
      else if (id === SettingId.INITIAL_WINDOW_SIZE) this.applyInitialWindow(value);
      else if (id === SettingId.MAX_FRAME_SIZE) this.peerMaxFrameSize = value;
      // MAX_CONCURRENT_STREAMS (we push nothing), MAX_HEADER_LIST_SIZE (our blocks are tiny), unknown ids: nothing to do.
    }
    this.queueControl(SETTINGS_ACK);
    if (!this.settingsSeen) {
      this.settingsSeen = true;
      if (this.prefaceTimer) clearTimeout(this.prefaceTimer);
    }
  }

  /** RFC 9113 6.9.2: a new initial window changes every open stream's window by the difference. */
  private applyInitialWindow(value: number): void {
    const delta = value - this.peerInitialWindow;
    this.peerInitialWindow = value;
    for (const stream of this.streams.values()) {
      stream.sendWindow += delta;
      if (stream.sendWindow > MAX_WINDOW) throw new Http2ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, `stream ${stream.id} window overflows`);
      if (delta > 0 && stream.blocked) this.scheduled.add(stream);
    }
  }

  private onWindowUpdate(streamId: number, payload: Buffer): void {
    if (payload.length !== 4) throw new Http2ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'WINDOW_UPDATE frame size');
    const increment = payload.readUInt32BE(0) & 0x7fffffff;
    if (streamId === 0) {
      if (increment === 0) throw new Http2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0');
      this.connectionWindow += increment;
      if (this.connectionWindow > MAX_WINDOW) throw new Http2ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'connection window overflows');
      return;
    }
    this.checkNotIdle(streamId, 'WINDOW_UPDATE');
    const stream = this.streams.get(streamId);
    if (!stream) return;
    if (increment === 0) throw new Http2StreamError(streamId, ErrorCode.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0');
    stream.sendWindow += increment;
    if (stream.sendWindow > MAX_WINDOW) throw new Http2StreamError(streamId, ErrorCode.FLOW_CONTROL_ERROR, 'stream window overflows');
    if (stream.blocked) this.scheduled.add(stream);
  }

  private onRstStream(streamId: number, payload: Buffer): void {
    if (streamId === 0) throw new Http2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'RST_STREAM on stream 0');
    if (payload.length !== 4) throw new Http2ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'RST_STREAM frame size');
    this.checkNotIdle(streamId, 'RST_STREAM');
    const stream = this.streams.get(streamId);
    if (!stream) return;
    this.countReset();
    stream.discard();
    this.forget(stream);
    stream.listener?.onReset(payload.readUInt32BE(0));
  }

  /** Rapid reset (CVE-2023-44487): streams reset or refused faster than the bucket refills end the connection. */
  private countReset(): void {
    if (!this.resets.take()) throw new Http2ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, 'too many streams reset');
  }

  private checkNotIdle(streamId: number, what: string): void {
    if (streamId > this.lastStreamId) throw new Http2ConnectionError(ErrorCode.PROTOCOL_ERROR, `${what} on idle stream ${streamId}`);
  }

  private onData(flags: number, streamId: number, payload: Buffer): void {
    if (streamId === 0) throw new Http2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'DATA on stream 0');
    this.checkNotIdle(streamId, 'DATA');
    const length = payload.length;
    this.recvWindow -= length;
    if (this.recvWindow < 0) throw new Http2ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'client overran the connection window');
    // The connection window is given back as data arrives; streams bound what they keep themselves.
    this.recvUnacked += length;
    if (this.recvUnacked >= this.limits.connectionWindow / 2) {
      this.out.push(encodeWindowUpdate(0, this.recvUnacked));
      this.recvWindow += this.recvUnacked;
      this.recvUnacked = 0;
    }
    const stream = this.streams.get(streamId);
    // Closed streams: frames after our RST_STREAM are ignored (RFC 9113 5.1), counted above.
    if (!stream) return;
    if (stream.remoteClosed) throw new Http2StreamError(streamId, ErrorCode.STREAM_CLOSED, 'DATA after END_STREAM');
    stream.recvWindow -= length;
    if (stream.recvWindow < 0) throw new Http2StreamError(streamId, ErrorCode.FLOW_CONTROL_ERROR, 'client overran the stream window');
    const data = unpad(flags, payload, streamId);
    const end = (flags & Flag.END_STREAM) !== 0;
    if (end) stream.remoteClosed = true;
    else {
      stream.unacked += length;
      if (stream.unacked >= this.limits.streamWindow / 2) {
        this.out.push(encodeWindowUpdate(streamId, stream.unacked));
        stream.recvWindow += stream.unacked;
        stream.unacked = 0;
      }
    }
    stream.listener?.onData(data, end);
    if (end && stream.localClosed) this.forget(stream);
  }

  private onHeaders(flags: number, streamId: number, payload: Buffer): void {
    const block = this.blocks.headers(flags, streamId, payload);
    if (block) this.headerBlock(block);
  }

  private onContinuation(flags: number, streamId: number, payload: Buffer): void {
    const block = this.blocks.continuation(flags, streamId, payload);
    if (block) this.headerBlock(block);
  }

  private headerBlock(block: HeaderBlock): void {
    // Decoded even when the stream is refused or closed: the HPACK table must stay in step.
    const headers = this.decoder.decode(block.bytes);
    const { streamId, endStream } = block;
    const existing = this.streams.get(streamId);
    if (existing) {
      // Trailers from the client: they must end the stream.
      if (existing.remoteClosed) throw new Http2StreamError(streamId, ErrorCode.STREAM_CLOSED, 'HEADERS after END_STREAM');
      if (!endStream) throw new Http2StreamError(streamId, ErrorCode.PROTOCOL_ERROR, 'trailers without END_STREAM');
      existing.remoteClosed = true;
      existing.listener?.onData(Buffer.alloc(0), true);
      if (existing.localClosed) this.forget(existing);
      return;
    }
    if (streamId <= this.lastStreamId) {
      // A closed stream: a client may still send trailers of a stream we reset; anything else is an error.
      if (endStream) return;
      throw new Http2ConnectionError(ErrorCode.STREAM_CLOSED, `HEADERS on closed stream ${streamId}`);
    }
    if (streamId % 2 === 0) throw new Http2ConnectionError(ErrorCode.PROTOCOL_ERROR, `client stream id ${streamId} is even`);
    this.lastStreamId = streamId;
    if (this.goAwayId !== undefined) return;
    if (this.streams.size >= this.limits.maxConcurrentStreams) {
      this.countReset();
      this.queueControl(encodeRstStream(streamId, ErrorCode.REFUSED_STREAM));
      return;
    }
    const stream = new ServerStream(streamId, this, this.peerInitialWindow, this.limits.streamWindow);
    stream.remoteClosed = endStream;
    this.streams.set(streamId, stream);
    stream.listener = this.acceptor.openStream(stream, headers, endStream, this);
  }
}
