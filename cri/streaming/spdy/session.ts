/**
 * A SPDY/3.1 session over one upgraded connection, for either end: stream ids (client odd,
 * server even), SYN_STREAM/SYN_REPLY, data with FIN half-close, RST_STREAM, PING echo, GOAWAY,
 * SETTINGS and WINDOW_UPDATE flow control (per stream and, SPDY/3.1, per session).
 *
 * Flow control is honoured only with peers that show they do it (they sent SETTINGS or
 * WINDOW_UPDATE): Go's spdystream, which kubelet, kubectl and crictl use, does neither, never
 * sends WINDOW_UPDATE and may reject a stream-0 WINDOW_UPDATE, so with it we rely on TCP
 * backpressure (the socket is paused while a reader is full) and send no flow-control frames.
 *
 * Frames are handled strictly in arrival order, and written strictly in submission order, even
 * though header blocks go through asynchronous zlib contexts.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import {
  encodeDataFrame,
  encodeGoAway,
  encodePing,
  encodeRstStream,
  encodeSettings,
  encodeSynReply,
  encodeSynStream,
  encodeWindowUpdate,
  FLAG_FIN,
  FrameParser,
  RstStatus,
  SETTINGS_INITIAL_WINDOW_SIZE,
  SpdyProtocolError,
  type SpdyFrame,
} from './frames';
import { FrameWriter } from './frame-writer';
import { HeaderCompressor, HeaderDecompressor, type SpdyHeaders } from './header-codec';
import { SpdyStream, type StreamOwner } from './stream';
import { ANNOUNCED_WINDOW, DEFAULT_WINDOW, SessionWindow } from './session-window';

/** Largest data frame we send. */
const MAX_DATA_FRAME = 64 * 1024;
/**
 * Streams open at once on one session; more are refused (RST REFUSED_STREAM). A remotecommand
 * session needs 5, a port-forward session 2 per forwarded connection.
 */
export const MAX_OPEN_STREAMS = 1024;
/**
 * Unsent bytes in the socket beyond which we stop reading the peer. Data writers wait for
 * 'drain' long before this; only frames we answer with (PING, RST_STREAM, SYN_REPLY) can pile
 * up here, when a peer keeps sending while it does not read.
 */
const MAX_UNSENT_BYTES = 1024 * 1024;
/** Parsed frames waiting for a header block to be inflated before we stop reading the peer. */
const MAX_INBOX_FRAMES = 1024;

export interface SpdySessionOptions {
  /** The server end accepts peer streams and replies to them at once, as kubelet does. */
  isServer: boolean;
  /** Announce SETTINGS and the larger window at start (a client that does flow control). */
  announceFlowControl?: boolean;
  /** Streams open at once; default MAX_OPEN_STREAMS. */
  maxOpenStreams?: number;
}

export interface SpdySessionEvents {
  stream: [SpdyStream];
  close: [];
  goaway: [number];
}

export class SpdySession extends EventEmitter<SpdySessionEvents> implements StreamOwner {
  private readonly parser = new FrameParser();
  private readonly compressor = new HeaderCompressor();
  private readonly decompressor = new HeaderDecompressor();
  private readonly streams = new Map<number, SpdyStream>();
  private readonly pendingOpens = new Map<number, { resolve: (s: SpdyStream) => void; reject: (e: Error) => void }>();
  private readonly inbox: SpdyFrame[] = [];
  private draining = false;
  private readonly writer: FrameWriter;
  private nextStreamId: number;
  private nextPingId: number;
  private readonly pings = new Map<number, () => void>();
  private peerFlowControl = false;
  private peerInitialWindow = DEFAULT_WINDOW;
  private readonly window = new SessionWindow();
  private lastPeerStreamId = 0;
  private goingAway = false;
  private closedFlag = false;
  private peerGone = false;
  private socketPausedFor = new Set<SpdyStream>();
  /** Reading is paused until our unsent bytes drain. */
  private writeCongested = false;
  private readPaused = false;

  constructor(
    private readonly socket: Duplex,
    private readonly options: SpdySessionOptions,
  ) {
    super();
    this.nextStreamId = options.isServer ? 2 : 1;
    this.nextPingId = options.isServer ? 2 : 1;
    this.writer = new FrameWriter(socket, (err) => this.protocolFailure(err));
    socket.on('drain', () => {
      if (!this.writeCongested) return;
      this.writeCongested = false;
      this.updateReadPause();
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    // Frames already received are handled before the session counts as closed.
    socket.on('end', () => this.shutdownAfterInbox());
    socket.on('close', () => this.shutdownAfterInbox());
    socket.on('error', () => this.shutdown());
    if (options.announceFlowControl) {
      this.enqueue(encodeSettings([{ id: SETTINGS_INITIAL_WINDOW_SIZE, value: ANNOUNCED_WINDOW }]));
      this.enqueue(encodeWindowUpdate(0, ANNOUNCED_WINDOW - DEFAULT_WINDOW));
      this.peerFlowControl = true;
    }
  }

  /** True once the connection is gone. */
  get closed(): boolean {
    return this.closedFlag;
  }

  /** Opens a stream and resolves when the peer replied (client side use). */
  openStream(headers: Record<string, string>, opts: { fin?: boolean } = {}): Promise<SpdyStream> {
    if (this.closedFlag || this.goingAway) return Promise.reject(new SpdyProtocolError('session is closed'));
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    const stream = new SpdyStream(id, Object.create(null) as SpdyHeaders, this, this.peerInitialWindow);
    if (opts.fin) stream.localFin = true;
    this.streams.set(id, stream);
    const block = this.compressor.compress(toSpdyHeaders(headers));
    this.enqueue(block.then((b) => encodeSynStream(id, b, { fin: opts.fin })));
    return new Promise((resolve, reject) => this.pendingOpens.set(id, { resolve, reject }));
  }

  /** Sends a PING and resolves with the round trip in milliseconds. */
  ping(): Promise<number> {
    const id = this.nextPingId;
    this.nextPingId += 2;
    const started = process.hrtime.bigint();
    return new Promise((resolve, reject) => {
      if (this.closedFlag) return reject(new SpdyProtocolError('session is closed'));
      this.pings.set(id, () => resolve(Number(process.hrtime.bigint() - started) / 1e6));
      this.enqueue(encodePing(id));
    });
  }

  /** Sends GOAWAY and ends the connection once queued frames are written. */
  close(): void {
    if (this.closedFlag) return;
    if (!this.goingAway) {
      this.goingAway = true;
      this.enqueue(encodeGoAway(this.lastPeerStreamId, 0));
    }
    void this.writer.flushed().then(() => this.socket.end());
  }

  /** Tears the connection down at once. */
  destroy(): void {
    this.socket.destroy();
    this.shutdown();
  }

  // ---- StreamOwner ----

  /** @internal */
  async sendData(stream: SpdyStream, data: Buffer): Promise<void> {
    let off = 0;
    while (off < data.length) {
      if (stream.destroyed || this.closedFlag) throw new SpdyProtocolError(`stream ${stream.id} is closed`);
      let allowed = Math.min(MAX_DATA_FRAME, data.length - off);
      if (this.peerFlowControl) {
        while (stream.sendWindow <= 0 || this.window.send <= 0) {
          if (stream.destroyed || this.closedFlag) throw new SpdyProtocolError(`stream ${stream.id} is closed`);
          await new Promise<void>((r) => (stream.sendWindow <= 0 ? stream.windowWaiters.push(r) : this.window.onGrow(r)));
        }
        allowed = Math.min(allowed, stream.sendWindow, this.window.send);
        stream.sendWindow -= allowed;
        this.window.send -= allowed;
      }
      const ok = this.enqueue(encodeDataFrame(stream.id, data.subarray(off, off + allowed), false));
      off += allowed;
      if (!ok) await this.writer.waitForDrain();
    }
  }

  /** @internal */
  async sendFin(stream: SpdyStream): Promise<void> {
    if (stream.localFin || this.closedFlag) return;
    stream.localFin = true;
    this.enqueue(encodeDataFrame(stream.id, Buffer.alloc(0), true));
    this.maybeForget(stream);
  }

  /** @internal */
  streamRead(stream: SpdyStream): void {
    this.credit(stream);
    if (this.socketPausedFor.delete(stream)) this.updateReadPause();
  }

  /** @internal */
  streamDestroyed(stream: SpdyStream): void {
    if (this.streams.get(stream.id) !== stream) return;
    this.streams.delete(stream.id);
    if (this.socketPausedFor.delete(stream)) this.updateReadPause();
    // A stream dropped before both sides finished is cancelled for the peer too.
    if (!this.closedFlag && !stream.resetByPeer && !(stream.localFin && stream.remoteFin)) {
      this.enqueue(encodeRstStream(stream.id, RstStatus.Cancel));
    }
    // What the peer sent to this stream and nobody will read still counts in the session window.
    const dropped = stream.uncreditedBytes;
    stream.uncreditedBytes = 0;
    this.creditSession(dropped);
  }

  // ---- inbound ----

  private onData(chunk: Buffer): void {
    let frames: SpdyFrame[];
    try {
      frames = this.parser.push(chunk);
    } catch (err) {
      this.protocolFailure(err);
      return;
    }
    for (const f of frames) this.inbox.push(f);
    void this.drainInbox();
    this.updateReadPause();
  }

  /**
   * Reading the peer pauses while a reader is full (peers without flow control), while our
   * answers pile up unsent, or while parsed frames wait for a header block to inflate.
   */
  private updateReadPause(): void {
    if (!this.writeCongested && this.socket.writableLength > MAX_UNSENT_BYTES) this.writeCongested = true;
    const pause = this.socketPausedFor.size > 0 || this.writeCongested || this.inbox.length > MAX_INBOX_FRAMES;
    if (pause === this.readPaused || this.closedFlag) return;
    this.readPaused = pause;
    if (pause) this.socket.pause();
    else this.socket.resume();
  }

  private async drainInbox(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.inbox.length > 0 && !this.closedFlag) {
        const frame = this.inbox.shift() as SpdyFrame;
        if (frame.type === 'syn_stream' || frame.type === 'syn_reply' || frame.type === 'headers') {
          const headers = await this.decompressor.decompress(frame.headerBlock);
          this.onHeaderFrame(frame, headers);
        } else {
          this.onFrame(frame);
        }
      }
    } catch (err) {
      this.protocolFailure(err);
    } finally {
      this.draining = false;
    }
    this.updateReadPause();
    if (this.peerGone) this.shutdown();
  }

  private shutdownAfterInbox(): void {
    this.peerGone = true;
    if (!this.draining) this.shutdown();
  }

  private onHeaderFrame(frame: Extract<SpdyFrame, { headerBlock: Buffer }>, headers: SpdyHeaders): void {
    if (frame.type === 'syn_stream') {
      const peerParity = this.options.isServer ? 1 : 0;
      if (frame.streamId === 0 || frame.streamId % 2 !== peerParity || frame.streamId <= this.lastPeerStreamId) {
        this.enqueue(encodeRstStream(frame.streamId, RstStatus.ProtocolError));
        return;
      }
      this.lastPeerStreamId = frame.streamId;
      if (this.goingAway || this.streams.size >= (this.options.maxOpenStreams ?? MAX_OPEN_STREAMS)) {
        this.enqueue(encodeRstStream(frame.streamId, RstStatus.RefusedStream));
        return;
      }
      const stream = new SpdyStream(frame.streamId, headers, this, this.peerInitialWindow);
      this.streams.set(frame.streamId, stream);
      if (this.options.isServer) {
        // Reply before anything else is written on the stream: spdystream drops data on
        // streams it has no reply for.
        this.enqueue(this.compressor.compress({}).then((b) => encodeSynReply(frame.streamId, b, false)));
      }
      if (frame.flags & FLAG_FIN) stream.deliverEnd();
      this.emit('stream', stream);
      return;
    }
    const stream = this.streams.get(frame.streamId);
    if (!stream) return;
    if (frame.type === 'syn_reply') {
      stream.headers = headers;
      const pending = this.pendingOpens.get(frame.streamId);
      this.pendingOpens.delete(frame.streamId);
      pending?.resolve(stream);
    } else {
      for (const [k, v] of Object.entries(headers)) {
        const values = (stream.headers[k] ??= []);
        for (const x of v) values.push(x);
      }
    }
    if (frame.flags & FLAG_FIN) this.remoteEnd(stream);
  }

  /** Dispatches one frame from the peer. */
  private onFrame(frame: SpdyFrame): void {
    switch (frame.type) {
      case 'data':
        return this.onDataFrame(frame);
      case 'rst_stream': {
        const stream = this.streams.get(frame.streamId);
        const pending = this.pendingOpens.get(frame.streamId);
        this.pendingOpens.delete(frame.streamId);
        pending?.reject(new SpdyProtocolError(`stream ${frame.streamId} was reset (status ${frame.status})`, frame.streamId));
        if (stream) {
          stream.resetByPeer = true;
          stream.deliverEnd();
          stream.destroy();
        }
        return;
      }
      case 'settings':
        return this.onSettings(frame);
      case 'window_update':
        return this.onWindowUpdate(frame);
      case 'ping': {
        const ours = frame.id % 2 === (this.options.isServer ? 0 : 1);
        if (ours) {
          const done = this.pings.get(frame.id);
          this.pings.delete(frame.id);
          done?.();
        } else {
          this.enqueue(encodePing(frame.id));
        }
        return;
      }
      case 'goaway':
        this.goingAway = true;
        this.emit('goaway', frame.lastGoodStreamId);
        return;
      default:
        return; // unknown control frames are ignored (spec §2.2.1)
    }
  }

  /** A DATA frame: counted against the session window, delivered to its stream, credited back. */
  private onDataFrame(frame: Extract<SpdyFrame, { type: 'data' }>): void {
    const stream = this.streams.get(frame.streamId);
    if (this.peerFlowControl) {
      // A peer doing flow control may not send past the session window we announced (as large
      // as a stream's, so this bounds every stream too); one that does would make us buffer
      // without bound for readers that do not read.
      const outstanding = this.window.received(frame.data.length);
      if (outstanding > ANNOUNCED_WINDOW) {
        this.protocolFailure(new SpdyProtocolError(`peer sent ${outstanding} bytes past the session window`));
        return;
      }
    }
    if (!stream) {
      this.creditSession(frame.data.length);
      return;
    }
    if (frame.data.length > 0 && !stream.deliver(frame.data) && !this.peerFlowControl) {
      // The peer ignores windows: stop reading the socket until this reader catches up.
      this.socketPausedFor.add(stream);
      this.updateReadPause();
    }
    if (frame.data.length > 0 && !stream.readerFull) this.credit(stream);
    if (frame.flags & FLAG_FIN) this.remoteEnd(stream);
  }

  /** SETTINGS: a new initial window moves every open stream's send window by the difference. */
  private onSettings(frame: Extract<SpdyFrame, { type: 'settings' }>): void {
    for (const e of frame.entries) {
      if (e.id === SETTINGS_INITIAL_WINDOW_SIZE) {
        const delta = e.value - this.peerInitialWindow;
        this.peerInitialWindow = e.value;
        for (const s of this.streams.values()) {
          s.sendWindow += delta;
          s.wakeWriters();
        }
      }
    }
    this.becomeFlowControlled();
  }

  /** WINDOW_UPDATE for the session (stream 0) or one stream: wakes the writers waiting on it. */
  private onWindowUpdate(frame: Extract<SpdyFrame, { type: 'window_update' }>): void {
    this.becomeFlowControlled();
    if (frame.streamId === 0) {
      this.window.grow(frame.delta);
    } else {
      const stream = this.streams.get(frame.streamId);
      if (stream) {
        stream.sendWindow += frame.delta;
        stream.wakeWriters();
      }
    }
  }

  /** A peer that announces flow control gets our SETTINGS and window in return, once. */
  private becomeFlowControlled(): void {
    if (this.peerFlowControl) return;
    this.peerFlowControl = true;
    this.window.restartCount(); // counted from here: never more than the peer itself counts
    this.enqueue(encodeSettings([{ id: SETTINGS_INITIAL_WINDOW_SIZE, value: ANNOUNCED_WINDOW }]));
    this.enqueue(encodeWindowUpdate(0, ANNOUNCED_WINDOW - DEFAULT_WINDOW));
  }

  private remoteEnd(stream: SpdyStream): void {
    stream.deliverEnd();
    this.maybeForget(stream);
  }

  private maybeForget(stream: SpdyStream): void {
    if (stream.localFin && stream.remoteFin && this.streams.get(stream.id) === stream) this.streams.delete(stream.id);
  }

  /** Returns consumed bytes to the peer's windows, in batches. */
  private credit(stream: SpdyStream): void {
    const bytes = stream.uncreditedBytes;
    if (bytes === 0) return;
    if (!this.peerFlowControl) {
      stream.uncreditedBytes = 0;
      return;
    }
    if (bytes >= ANNOUNCED_WINDOW / 4 || stream.readableLength === 0) {
      stream.uncreditedBytes = 0;
      if (!stream.remoteFin) this.enqueue(encodeWindowUpdate(stream.id, bytes));
      this.creditSession(bytes);
    }
  }

  /** Gives consumed bytes back to the peer's session window, in batches. */
  private creditSession(bytes: number): void {
    const delta = this.window.consumed(bytes, this.peerFlowControl);
    if (delta > 0) this.enqueue(encodeWindowUpdate(0, delta));
  }

  /** Queues a frame (or one being compressed); false when the socket asks us to slow down. */
  private enqueue(frame: Buffer | Promise<Buffer>): boolean {
    return this.closedFlag ? true : this.writer.enqueue(frame);
  }

  private protocolFailure(_err: unknown): void {
    if (this.closedFlag) return;
    if (!this.goingAway) {
      this.goingAway = true;
      try {
        this.socket.write(encodeGoAway(this.lastPeerStreamId, 1));
      } catch {
        // the socket is gone already
      }
    }
    this.destroy();
  }

  private shutdown(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    for (const p of this.pendingOpens.values()) p.reject(new SpdyProtocolError('session closed before the stream was answered'));
    this.pendingOpens.clear();
    for (const s of [...this.streams.values()]) {
      s.resetByPeer = true;
      if (!s.remoteFin) s.deliverEnd();
      s.destroy();
    }
    this.streams.clear();
    this.window.wakeAll();
    this.writer.close();
    this.compressor.close();
    this.decompressor.close();
    if (!this.socket.destroyed) this.socket.destroy();
    this.emit('close');
  }
}

/** Converts a flat header map to the SPDY multi-value form. */
function toSpdyHeaders(h: Record<string, string>): SpdyHeaders {
  const out: SpdyHeaders = {};
  for (const [k, v] of Object.entries(h)) out[k.toLowerCase()] = [v];
  return out;
}
