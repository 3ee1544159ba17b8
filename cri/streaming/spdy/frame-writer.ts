/**
 * The outbound side of a SPDY session: frames go to the socket strictly in submission order,
 * including frames whose header block is still being compressed (a Promise<Buffer>), with the
 * socket's backpressure surfaced to writers.
 */
import type { Duplex } from 'node:stream';

export class FrameWriter {
  private readonly outbox: Array<Buffer | Promise<Buffer>> = [];
  private pumping = false;
  private waiters: Array<() => void> = [];
  private closed = false;

  constructor(
    private readonly socket: Duplex,
    /** Called when a queued frame's compression failed. */
    private readonly onFailure: (err: unknown) => void,
  ) {
    socket.on('drain', () => this.wake());
  }

  /** Queues a frame; false when the socket asks writers to slow down (see waitForDrain). */
  enqueue(frame: Buffer | Promise<Buffer>): boolean {
    if (this.closed) return true;
    if (!this.pumping && this.outbox.length === 0 && Buffer.isBuffer(frame)) return this.socket.write(frame);
    this.outbox.push(frame);
    void this.pump();
    return this.socket.writableNeedDrain !== true;
  }

  /** Resolves when the socket drained (or the writer closed). */
  waitForDrain(): Promise<void> {
    return new Promise<void>((r) => this.waiters.push(r));
  }

  /** Resolves once every queued frame was handed to the socket. */
  async flushed(): Promise<void> {
    while (!this.closed && (this.pumping || this.outbox.length > 0)) await this.waitForDrain();
  }

  /** Drops queued frames and releases every waiter. */
  close(): void {
    this.closed = true;
    this.outbox.length = 0;
    for (const w of this.waiters.splice(0)) w();
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.outbox.length > 0 && !this.closed) {
        const next = this.outbox[0];
        const bytes = Buffer.isBuffer(next) ? next : await next;
        this.outbox.shift();
        if (!this.closed) this.socket.write(bytes);
      }
    } catch (err) {
      this.onFailure(err);
    } finally {
      this.pumping = false;
      this.wake();
    }
  }

  private wake(): void {
    if (this.socket.writableNeedDrain && !this.closed && !this.pumping && this.outbox.length === 0) {
      // Still congested and nothing of ours pending: writers keep waiting for 'drain'.
      return;
    }
    for (const w of this.waiters.splice(0)) w();
  }
}
