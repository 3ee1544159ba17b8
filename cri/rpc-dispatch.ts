/**
 * Routes every CRI method path to an RpcRunner. Messages arrive as raw Buffers; decoding and
 * encoding happen here so that a malformed request becomes INVALID_ARGUMENT and a response the
 * codec cannot encode becomes INTERNAL, both observed and logged like any other failure.
 */
import { errorKindOf, InvalidArgumentError, ResourceExhaustedError, RuntimeError, UnimplementedError } from '../common/errors';
import type { Logger } from '../common/logger';
import { LazyCallContext } from './call-context';
import { grpcCodeName, toGrpcError } from './errors';
import {
  CRI_METHOD_NAMES,
  CRI_METHODS,
  type CallContext,
  type CriHandlers,
  type CriMethodName,
  type CriServiceName,
  type MessageCodec,
  type StreamCallContext,
} from './handlers';
import { GrpcCode as GrpcStatus } from './transport/grpc-code';
import type { Route, ServerCall } from './transport/server-call';

/** Receives one observation per finished RPC (for metrics), and may open a scope around each call. */
export interface RpcObserver {
  observe(service: CriServiceName, method: string, code: string, seconds: number): void;
  /** Called as a call arrives, with its request metadata (e.g. W3C traceparent); absent = no scope. */
  beginCall?(service: CriServiceName, method: string, metadata: (key: string) => string | undefined): RpcCallScope | undefined;
}

/** One call's scope (a tracing span): the handler runs inside it; it sees request, response and outcome. */
export interface RpcCallScope {
  run<T>(fn: () => T): T;
  request(message: unknown): void;
  response(message: unknown): void;
  end(code: string, err?: unknown): void;
}

/** The proto package of the CRI services. */
export const CRI_PACKAGE = 'runtime.v1';

type AnyHandler = (request: unknown, call: CallContext | StreamCallContext<unknown>) => unknown;

/** The route of every CRI method, keyed by its HTTP/2 path (`/runtime.v1.RuntimeService/Version`). */
export function buildCriRoutes(handlers: CriHandlers, logger: Logger, maxMessageBytes: number, observer?: RpcObserver): Map<string, Route> {
  const routes = new Map<string, Route>();
  for (const method of CRI_METHOD_NAMES) {
    const spec = CRI_METHODS[method];
    const handler = handlers[method] as AnyHandler | undefined;
    const rpc = new RpcRunner(method, spec.service, spec.request as MessageCodec<unknown>, spec.response as MessageCodec<unknown>, handler, logger, maxMessageBytes, observer);
    const serve = spec.serverStreaming ? (call: ServerCall) => void rpc.serveStream(call) : (call: ServerCall) => rpc.serveUnary(call);
    routes.set(`/${CRI_PACKAGE}.${spec.service}/${method}`, { serverStreaming: spec.serverStreaming, serve });
  }
  return routes;
}

/** Serves one RPC: decode, context, handler, encode, status, log, observe. */
class RpcRunner {
  private readonly log: Logger;
  /** Read once: the level does not change while the daemon runs, and most calls succeed. */
  private readonly debugEnabled: boolean;

  constructor(
    private readonly method: CriMethodName,
    private readonly service: CriServiceName,
    private readonly requestCodec: MessageCodec<unknown>,
    private readonly responseCodec: MessageCodec<unknown>,
    private readonly handler: AnyHandler | undefined,
    logger: Logger,
    private readonly maxMessageBytes: number,
    private readonly observer: RpcObserver | undefined,
  ) {
    this.log = logger.child({ rpc: method });
    this.debugEnabled = this.log.enabled?.('debug') ?? true;
  }

  /**
   * A handler that answers synchronously is answered in this same turn (see CriHandler); only a
   * promise waits. Either way the call ends exactly once, through answer() or fail().
   */
  serveUnary(call: ServerCall): void {
    const started = performance.now();
    const ctx = new LazyCallContext(call, this.log, this.method);
    const scope = this.observer?.beginCall ? this.beginScope(call) : undefined;
    let result: unknown;
    try {
      const request = this.decode(call.request);
      scope?.request(request);
      const handler = this.requireHandler();
      result = scope ? scope.run(() => handler(request, ctx)) : handler(request, ctx);
    } catch (err) {
      this.fail(call, ctx, started, err, scope);
      return;
    }
    if (isPromiseLike(result)) {
      result.then(
        (response: unknown) => this.answer(call, ctx, started, response, scope),
        (err: unknown) => this.fail(call, ctx, started, err, scope),
      );
    } else {
      this.answer(call, ctx, started, result, scope);
    }
  }

  private answer(call: ServerCall, ctx: LazyCallContext, started: number, response: unknown, scope: RpcCallScope | undefined): void {
    try {
      scope?.response(response);
      call.sendUnary(this.encode(response));
    } catch (err) {
      this.fail(call, ctx, started, err, scope);
      return;
    }
    this.finish(started, GrpcStatus.OK, undefined, scope);
    ctx.dispose();
  }

  private fail(call: ServerCall, ctx: LazyCallContext, started: number, err: unknown, scope: RpcCallScope | undefined): void {
    const typed = toGrpcError(err);
    const code = ctx.abortedCode() ?? typed.code;
    call.end(code, typed.details);
    this.finish(started, code, err, scope);
    ctx.dispose();
  }

  async serveStream(call: ServerCall): Promise<void> {
    const started = performance.now();
    const ctx = new LazyCallContext(call, this.log, this.method);
    const signal = ctx.signal;
    const scope = this.observer?.beginCall ? this.beginScope(call) : undefined;
    const write = (message: unknown): Promise<void> => {
      if (signal.aborted) return Promise.reject(signal.reason);
      let bytes: Uint8Array;
      try {
        bytes = this.encode(message);
      } catch (err) {
        return Promise.reject(err);
      }
      if (call.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))) return Promise.resolve();
      return new Promise<void>((resolve) => {
        // Either the client reads again or it goes away; both end the wait.
        const done = () => {
          call.onWritable(undefined);
          signal.removeEventListener('abort', done);
          resolve();
        };
        call.onWritable(done);
        signal.addEventListener('abort', done, { once: true });
      });
    };
    try {
      const request = this.decode(call.request);
      scope?.request(request);
      const handler = this.requireHandler();
      const streamCall: StreamCallContext<unknown> = { signal, logger: ctx.logger, method: ctx.method, deadlineMs: ctx.deadlineMs, write };
      await (scope ? scope.run(() => handler(request, streamCall)) : handler(request, streamCall));
      // A handler that just returns when its signal aborts (GetContainerEvents) was cut short: the
      // client must see the deadline, not an OK that reads as a complete stream.
      const aborted = ctx.abortedCode();
      if (aborted === undefined) call.end(GrpcStatus.OK, '');
      else call.end(aborted, aborted === GrpcStatus.DEADLINE_EXCEEDED ? `${this.method} deadline exceeded` : `${this.method} cancelled by the client`);
      this.finish(started, aborted ?? GrpcStatus.OK, undefined, scope);
    } catch (err) {
      const status = toGrpcError(err);
      const code = ctx.abortedCode() ?? status.code;
      call.end(code, status.details);
      this.finish(started, code, err, scope);
    } finally {
      ctx.dispose();
    }
  }

  /** The observer's scope for this call; a failing observer costs the call nothing. */
  private beginScope(call: ServerCall): RpcCallScope | undefined {
    if (!this.observer?.beginCall) return undefined;
    try {
      return this.observer.beginCall(this.service, this.method, (key) => call.metadata(key));
    } catch (err) {
      this.log.warn('rpc observer failed', { err });
      return undefined;
    }
  }

  private requireHandler(): AnyHandler {
    if (this.handler) return this.handler;
    return () => {
      throw new UnimplementedError(`${this.service}.${this.method} is not implemented by berth yet`);
    };
  }

  private decode(bytes: Buffer): unknown {
    try {
      return this.requestCodec.decode(bytes);
    } catch (cause) {
      throw new InvalidArgumentError(`decode ${this.method} request`, { cause });
    }
  }

  private encode(message: unknown): Uint8Array {
    let bytes: Uint8Array;
    try {
      bytes = this.responseCodec.encode(message ?? {}).finish();
    } catch (cause) {
      throw new RuntimeError(`encode ${this.method} response`, { cause });
    }
    if (bytes.byteLength > this.maxMessageBytes) throw new ResourceExhaustedError(`${this.method} response of ${bytes.byteLength} bytes exceeds the ${this.maxMessageBytes}-byte message limit`);
    return bytes;
  }

  /** Logs and observes the outcome exactly once per call. */
  private finish(started: number, code: number, err?: unknown, scope?: RpcCallScope): void {
    const seconds = (performance.now() - started) / 1000;
    const codeName = grpcCodeName(code);
    if (err === undefined) {
      if (this.debugEnabled) this.log.debug('rpc done', { code: codeName, ms: round(seconds * 1000) });
    } else {
      const fields = { code: codeName, kind: errorKindOf(err) ?? 'untyped', ms: round(seconds * 1000), err };
      if (code === GrpcStatus.NOT_FOUND || code === GrpcStatus.CANCELLED || code === GrpcStatus.UNIMPLEMENTED) {
        this.log.debug('rpc failed', fields);
      } else if (code === GrpcStatus.UNKNOWN || code === GrpcStatus.INTERNAL || code === GrpcStatus.DATA_LOSS) {
        this.log.error('rpc failed', fields);
      } else {
        this.log.warn('rpc failed', fields);
      }
    }
    try {
      scope?.end(codeName, err);
      this.observer?.observe(this.service, this.method, codeName, seconds);
    } catch (observeErr) {
      this.log.warn('rpc observer failed', { err: observeErr });
    }
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
