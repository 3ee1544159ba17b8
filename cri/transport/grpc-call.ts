/**
 * gRPC over HTTP/2 for one stream: checks the request headers, collects the single length-prefixed
 * request message (bounded, never buffered past the limit), routes the call and writes the
 * response: headers, messages and trailers, or a trailers-only response for early errors.
 */
import type { Http2ServerConnection } from './connection';
import { ErrorCode } from './frames';
import type { DecodedHeaders, HeaderField } from './hpack-decoder';
import { OK_TRAILERS, RESPONSE_HEADERS, httpErrorHeaders, statusTrailers, trailersOnly } from './hpack-encoder';
import { isGrpcContentType, MalformedRequestError, readRequestHeaders } from './request-headers';
import { GrpcCode } from './grpc-code';
import type { Route, ServerCall } from './server-call';
import type { ServerStream, StreamListener } from './stream';

const PREFIX_BYTES = 5;

/** Opens a call on a new stream; returns the stream's listener. */
export function openGrpcCall(
  stream: ServerStream,
  headers: DecodedHeaders,
  endStream: boolean,
  connection: Http2ServerConnection,
  routes: ReadonlyMap<string, Route>,
  maxMessageBytes: number,
): StreamListener {
  const call = new GrpcServerCall(stream, connection, maxMessageBytes);
  call.start(headers, routes);
  if (endStream) call.onData(Buffer.alloc(0), true);
  return call;
}

/** The state of one call. */
class GrpcServerCall implements ServerCall, StreamListener {
  request: Buffer = Buffer.alloc(0);
  deadlineMs: number | undefined;
  cancelled = false;
  private fields: readonly HeaderField[] = [];
  private route: Route | undefined;
  private encoding: string | undefined;
  /** Set once a response (or the refusal) has begun: later input is ignored. */
  private done = false;
  private headersSent = false;
  private ended = false;
  private cancelListeners: Array<() => void> = [];
  private writable: (() => void) | undefined;
  private prefix = Buffer.allocUnsafe(PREFIX_BYTES);
  private prefixHave = 0;
  private message: Buffer | undefined;
  private messageHave = 0;
  private messages = 0;
  private reserved = 0;

  constructor(
    private readonly stream: ServerStream,
    private readonly connection: Http2ServerConnection,
    private readonly maxMessageBytes: number,
  ) {}

  start(headers: DecodedHeaders, routes: ReadonlyMap<string, Route>): void {
    if (headers.oversized) return this.refuse(GrpcCode.RESOURCE_EXHAUSTED, `request headers exceed ${this.connection.limits.maxHeaderListBytes} bytes`);
    let request;
    try {
      request = readRequestHeaders(headers.fields);
    } catch (err) {
      if (!(err instanceof MalformedRequestError)) throw err;
      this.done = true;
      this.stream.resetWith(ErrorCode.PROTOCOL_ERROR);
      return;
    }
    if (request.method !== 'POST') return this.refuseHttp(405, GrpcCode.INTERNAL, `method ${request.method} is not POST`);
    if (!isGrpcContentType(request.contentType)) return this.refuseHttp(415, GrpcCode.INTERNAL, `invalid gRPC request content-type ${JSON.stringify(request.contentType ?? '')}`);
    if (Number.isNaN(request.timeoutMs)) return this.refuse(GrpcCode.INTERNAL, 'malformed grpc-timeout');
    this.route = routes.get(request.path);
    if (!this.route) return this.refuse(GrpcCode.UNIMPLEMENTED, `unknown method ${request.path}`);
    this.fields = request.fields;
    this.encoding = request.encoding;
    if (request.timeoutMs !== undefined) this.deadlineMs = Date.now() + request.timeoutMs;
  }

  metadata(key: string): string | undefined {
    let out: string | undefined;
    for (const [name, value] of this.fields) if (name === key) out = out === undefined ? value : `${out},${value}`;
    return out;
  }

  onCancel(listener: () => void): void {
    this.cancelListeners.push(listener);
  }

  offCancel(listener: () => void): void {
    this.cancelListeners = this.cancelListeners.filter((l) => l !== listener);
  }

  onWritable(listener: (() => void) | undefined): void {
    this.writable = listener;
    this.stream.wantsWritable = listener !== undefined;
  }

  sendUnary(message: Uint8Array): void {
    if (this.ended) return;
    this.ended = true;
    const stream = this.stream;
    stream.sendResponse(RESPONSE_HEADERS, messagePrefix(message.length), message, OK_TRAILERS);
    stream.flush();
  }

  write(message: Buffer): boolean {
    if (this.ended || this.cancelled) return true;
    const stream = this.stream;
    if (!this.headersSent) {
      this.headersSent = true;
      stream.sendHeaders(RESPONSE_HEADERS, false);
    }
    stream.sendData(frameMessage(message), false);
    stream.flush();
    return !stream.blocked && !this.connection.backedUp;
  }

  end(code: number, details: string): void {
    if (this.ended) return;
    this.ended = true;
    if (this.headersSent) this.stream.sendHeaders(code === GrpcCode.OK && details === '' ? OK_TRAILERS : statusTrailers(code, details), true);
    else this.stream.sendHeaders(trailersOnly(code, details), true);
    this.stream.flush();
  }

  onData(chunk: Buffer, endStream: boolean): void {
    if (this.done) return;
    let pos = 0;
    while (pos < chunk.length) {
      let message = this.message;
      if (message === undefined) {
        const take = Math.min(PREFIX_BYTES - this.prefixHave, chunk.length - pos);
        chunk.copy(this.prefix, this.prefixHave, pos, pos + take);
        this.prefixHave += take;
        pos += take;
        if (this.prefixHave < PREFIX_BYTES) break;
        message = this.beginMessage();
        if (message === undefined) return;
      }
      const take = Math.min(message.length - this.messageHave, chunk.length - pos);
      chunk.copy(message, this.messageHave, pos, pos + take);
      this.messageHave += take;
      pos += take;
      if (this.messageHave === message.length) this.completeMessage();
    }
    if (endStream) this.requestEnded();
  }

  onReset(): void {
    this.releaseReserved();
    this.done = true;
    this.ended = true;
    if (this.cancelled) return;
    this.cancelled = true;
    for (const listener of this.cancelListeners.splice(0)) listener();
    const writable = this.writable;
    this.writable = undefined;
    writable?.();
  }

  onDrain(): void {
    const writable = this.writable;
    this.writable = undefined;
    writable?.();
  }

  /** Reads the 5-byte prefix; the buffer for the message, undefined when the call was refused. */
  private beginMessage(): Buffer | undefined {
    const compressed = this.prefix[0];
    const length = this.prefix.readUInt32BE(1);
    if (compressed > 1) {
      this.refuse(GrpcCode.INTERNAL, `invalid message compression flag ${compressed}`);
      return undefined;
    }
    if (compressed === 1) {
      if (this.encoding === undefined) this.refuse(GrpcCode.INTERNAL, 'compressed message without grpc-encoding');
      else this.refuse(GrpcCode.UNIMPLEMENTED, `message compression ${this.encoding} is not supported`);
      return undefined;
    }
    if (this.messages >= 1) {
      this.refuse(GrpcCode.INTERNAL, 'more than one request message for a unary or server-streaming method');
      return undefined;
    }
    if (length > this.maxMessageBytes) {
      this.refuse(GrpcCode.RESOURCE_EXHAUSTED, `received message larger than max (${length} vs. ${this.maxMessageBytes})`);
      return undefined;
    }
    if (!this.connection.reserveRequestBytes(length)) {
      this.refuse(GrpcCode.RESOURCE_EXHAUSTED, 'the connection holds too many unfinished request messages');
      return undefined;
    }
    this.reserved = length;
    this.message = Buffer.allocUnsafe(length);
    this.messageHave = 0;
    return this.message;
  }

  private completeMessage(): void {
    this.request = this.message ?? Buffer.alloc(0);
    this.releaseReserved();
    this.message = undefined;
    this.prefixHave = 0;
    this.messages += 1;
  }

  private requestEnded(): void {
    if (this.done) return;
    if (this.message !== undefined || this.prefixHave > 0) return this.refuse(GrpcCode.INTERNAL, 'request ended inside a message');
    if (this.messages !== 1) return this.refuse(GrpcCode.INTERNAL, 'request without a message');
    this.done = true;
    (this.route as Route).serve(this);
  }

  private releaseReserved(): void {
    if (this.reserved === 0) return;
    this.connection.releaseRequestBytes(this.reserved);
    this.reserved = 0;
  }

  /** An early error as a trailers-only response; the rest of the request is ignored. */
  private refuse(code: number, details: string): void {
    this.done = true;
    this.releaseReserved();
    this.message = undefined;
    this.end(code, details);
  }

  private refuseHttp(httpStatus: number, code: number, details: string): void {
    this.done = true;
    this.ended = true;
    this.stream.sendHeaders(httpErrorHeaders(httpStatus, code, details), true);
    this.stream.flush();
  }
}

/** The 5-byte gRPC prefix (uncompressed, length) and the message, in one buffer. */
export function frameMessage(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(PREFIX_BYTES + message.length);
  messagePrefix(message.length).copy(out, 0);
  out.set(message, PREFIX_BYTES);
  return out;
}

/** The 5-byte gRPC prefix of an uncompressed message of `length` octets. */
function messagePrefix(length: number): Buffer {
  const out = Buffer.allocUnsafe(PREFIX_BYTES);
  out[0] = 0;
  out.writeUInt32BE(length, 1);
  return out;
}
