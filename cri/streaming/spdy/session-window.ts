/**
 * The session-level (stream 0) flow-control windows of SPDY/3.1: the one we send into, and the
 * one we announced to the peer, with the bytes it used and we have not given back yet.
 */

/** The window every SPDY/3 stream and session starts with. */
export const DEFAULT_WINDOW = 64 * 1024;
/** The receive window we announce to flow-control-aware peers. */
export const ANNOUNCED_WINDOW = 4 * 1024 * 1024;

/** Session window accounting; the session decides when flow control applies and writes the frames. */
export class SessionWindow {
  /** Bytes we may still send on the session. */
  send = DEFAULT_WINDOW;
  private readonly waiters: Array<() => void> = [];
  /** Bytes consumed (read, or dropped with their stream) that we have not given back yet. */
  private uncredited = 0;
  /** Bytes a flow-controlled peer sent that we have not given back at session level yet. */
  private outstanding = 0;

  /** Calls `wake` when the send window grows (or the session ends). */
  onGrow(wake: () => void): void {
    this.waiters.push(wake);
  }

  /** A WINDOW_UPDATE for stream 0: more to send; wakes the writers waiting. */
  grow(delta: number): void {
    this.send += delta;
    this.wakeAll();
  }

  /** Wakes every waiting writer (they recheck the window or the session's end). */
  wakeAll(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Counts from zero what the peer sends from now on (it starts counting when it starts flow control). */
  restartCount(): void {
    this.outstanding = 0;
  }

  /** Counts bytes the peer sent; returns what it has outstanding now (beyond ANNOUNCED_WINDOW it broke the window). */
  received(bytes: number): number {
    this.outstanding += bytes;
    return this.outstanding;
  }

  /**
   * Counts consumed bytes; returns the WINDOW_UPDATE delta to send for stream 0 (batched to a
   * quarter of the window), or 0 for none. Without flow control nothing is owed.
   */
  consumed(bytes: number, flowControlled: boolean): number {
    if (!flowControlled) {
      this.uncredited = 0;
      return 0;
    }
    this.uncredited += bytes;
    if (this.uncredited < ANNOUNCED_WINDOW / 4) return 0;
    const delta = this.uncredited;
    this.outstanding = Math.max(0, this.outstanding - delta);
    this.uncredited = 0;
    return delta;
  }
}
