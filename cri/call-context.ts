/**
 * The per-call context a handler receives. Most unary handlers (Version, ImageStatus, the list
 * and status calls) never look at `signal`, so its AbortController, the 'cancelled' listener and
 * the deadline timer are made only when a handler first reads it; a call whose signal nobody read
 * still gets the right status (DEADLINE_EXCEEDED or CANCELLED) from the call's `cancelled` flag
 * and the deadline, read when the call ends.
 */
import { DeadlineExceededError } from '../common/errors';
import type { Logger } from '../common/logger';
import type { CallContext, CriMethodName } from './handlers';
import { GrpcCode as GrpcStatus } from './transport/grpc-code';
import type { ServerCall } from './transport/server-call';

/** What the context needs from a server call (unary or streaming). */
export type CancellableCall = Pick<ServerCall, 'cancelled' | 'deadlineMs' | 'onCancel' | 'offCancel'>;

/** Timers may fire a little early against Date.now(): a cancel this close to the deadline is the deadline. */
const DEADLINE_SLACK_MS = 5;

/** A handler's CallContext whose signal is armed on first use; `dispose()` once the call ended. */
export class LazyCallContext implements CallContext {
  readonly deadlineMs: number | undefined;
  private controller: AbortController | undefined;
  private timer: NodeJS.Timeout | undefined;
  private listening = false;
  private code: number | undefined;
  private disposed = false;
  private readonly onCancel = (): void => this.cancelled();
  private readonly onDeadline = (): void => this.abort(GrpcStatus.DEADLINE_EXCEEDED);

  constructor(
    private readonly call: CancellableCall,
    readonly logger: Logger,
    readonly method: CriMethodName,
  ) {
    this.deadlineMs = call.deadlineMs;
  }

  /** Aborted when the client cancels or the deadline passes (armed on first read). */
  get signal(): AbortSignal {
    if (!this.controller) this.arm();
    return this.controller!.signal;
  }

  /** True once an armed signal has been made. */
  get armed(): boolean {
    return this.controller !== undefined;
  }

  /**
   * The status the call ended with when it was cut short: DEADLINE_EXCEEDED when the deadline had
   * passed (a client gives up at its deadline with a cancel), CANCELLED for a client cancel,
   * undefined otherwise.
   */
  abortedCode(): number | undefined {
    if (this.code !== undefined) return this.code;
    if (this.deadlineMs !== undefined && Date.now() >= this.deadlineMs) return GrpcStatus.DEADLINE_EXCEEDED;
    if (this.call.cancelled) return GrpcStatus.CANCELLED;
    return undefined;
  }

  /** Drops the listener and the timer; the signal (if made) stays as it is. */
  dispose(): void {
    this.disposed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.listening) this.call.offCancel(this.onCancel);
  }

  private arm(): void {
    this.controller = new AbortController();
    if (this.disposed) return;
    if (this.call.cancelled) {
      this.cancelled();
      return;
    }
    if (this.deadlineMs !== undefined) {
      const left = this.deadlineMs - Date.now();
      if (left <= 0) {
        this.abort(GrpcStatus.DEADLINE_EXCEEDED);
        return;
      }
      this.timer = setTimeout(this.onDeadline, left);
    }
    this.call.onCancel(this.onCancel);
    this.listening = true;
  }

  private deadlinePassed(): boolean {
    return this.deadlineMs !== undefined && Date.now() >= this.deadlineMs - DEADLINE_SLACK_MS;
  }

  private cancelled(): void {
    // The client's timer and ours both fire at the deadline; whichever runs first, it is a deadline.
    this.abort(this.deadlinePassed() ? GrpcStatus.DEADLINE_EXCEEDED : GrpcStatus.CANCELLED);
  }

  private abort(code: number): void {
    const controller = this.controller!;
    if (controller.signal.aborted) return;
    this.code = code;
    controller.abort(code === GrpcStatus.DEADLINE_EXCEEDED ? new DeadlineExceededError(`${this.method} deadline exceeded`) : abortError(`${this.method} cancelled by the client`));
  }
}

function abortError(message: string): Error {
  return Object.assign(new Error(message), { name: 'AbortError' });
}
