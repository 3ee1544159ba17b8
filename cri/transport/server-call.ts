/**
 * What the RPC layer (rpc-dispatch.ts, call-context.ts) sees of one gRPC call, independent of the
 * transport under it.
 */

/** One server call with its single request message. */
export interface ServerCall {
  /** The request message (without the 5-byte gRPC prefix). */
  readonly request: Buffer;
  /** The client's deadline (epoch ms), if it sent grpc-timeout. */
  readonly deadlineMs: number | undefined;
  /** True once the client cancelled (RST_STREAM) or the connection went away. */
  readonly cancelled: boolean;
  /** A request metadata value (several joined with ','), undefined when absent. */
  metadata(key: string): string | undefined;
  onCancel(listener: () => void): void;
  offCancel(listener: () => void): void;
  /** Unary success: response headers, the message and OK trailers, sent together. */
  sendUnary(message: Uint8Array): void;
  /** Streams one message; false when the client's windows or the socket are full (wait for onWritable). */
  write(message: Buffer): boolean;
  /** Calls `listener` once when write() may go on; undefined removes it. */
  onWritable(listener: (() => void) | undefined): void;
  /** Ends the call with a status (after the messages written so far). */
  end(code: number, details: string): void;
}

/** A method the server routes to. */
export interface Route {
  readonly serverStreaming: boolean;
  serve(call: ServerCall): void;
}
