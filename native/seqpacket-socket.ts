/**
 * SeqpacketSocket over the addon's SeqpacketChannel: the channel's send() never blocks and returns
 * the bytes written (0 when the peer is full; a pty may take part of a buffer); here sends are
 * serialised (one in flight, so data keeps its order) and retried with a short backoff until the
 * kernel took everything.
 */
import { NativeError, type SeqpacketHandlers, type SeqpacketSocket } from './binding';

/** The addon's raw channel (see native/src/seqpacket.cc). */
export interface RawSeqpacketChannel {
  send(packet: Buffer): number;
  shutdownWrite(): void;
  pause(): void;
  resume(): void;
  close(): void;
}

/** Constructor of the raw channel: takes ownership of `fd` and starts reading. */
export type RawSeqpacketChannelClass = new (fd: number, onPacket: (packet: Buffer) => void, onEnd: (error?: Error) => void) => RawSeqpacketChannel;

/** Backoff while the peer's queue is full: starts at 1 ms, at most 50 ms. */
const MAX_RETRY_DELAY_MS = 50;

/** Wraps a connected fd; `toError` converts addon errors to NativeError. */
export class ChannelSeqpacketSocket implements SeqpacketSocket {
  private readonly channel: RawSeqpacketChannel;
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(Channel: RawSeqpacketChannelClass, fd: number, handlers: SeqpacketHandlers, private readonly toError: (error: unknown) => unknown) {
    this.channel = new Channel(
      fd,
      (packet) => handlers.onPacket(packet),
      (error) => {
        if (this.closed) return;
        handlers.onEnd(error === undefined ? undefined : (toError(error) as NativeError));
      },
    );
  }

  send(packet: Buffer): Promise<void> {
    const next = this.queue.then(() => this.sendNow(packet));
    this.queue = next.catch(() => undefined); // a failed send must not wedge the ones after it
    return next;
  }

  shutdownWrite(): void {
    // After the queued packets, so stdin's last bytes reach the peer before its end-of-file.
    void this.queue.then(() => {
      if (!this.closed) this.channel.shutdownWrite();
    });
  }

  pause(): void {
    if (!this.closed) this.channel.pause();
  }

  resume(): void {
    if (!this.closed) this.channel.resume();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.channel.close();
  }

  private async sendNow(packet: Buffer): Promise<void> {
    let delay = 1;
    let rest = packet;
    for (;;) {
      if (this.closed) throw new NativeError('seqpacket socket: send after close', 'EBADF', 9);
      let written: number;
      try {
        written = this.channel.send(rest);
      } catch (error) {
        throw this.toError(error);
      }
      if (written >= rest.length) return;
      if (written > 0) {
        rest = rest.subarray(written); // a pty took part of it: go on at once
        delay = 1;
        continue;
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, MAX_RETRY_DELAY_MS);
    }
  }
}
