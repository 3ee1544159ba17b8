/**
 * Terminal resize events: the client sends a stream of JSON objects `{"Width":80,"Height":24}`
 * (Go's json.Encoder, one per line, but nothing guarantees the line breaks or frame boundaries),
 * and the backend consumes them as an async iterable.
 */
import type { Logger } from '../../common/logger';
import type { TerminalSize } from './backends';

/** Sizes kept for a slow consumer; older ones are dropped (only the latest size matters). */
export const MAX_QUEUED_SIZES = 16;

/** An async queue of terminal sizes; iteration ends after `end()`. */
export class ResizeQueue implements AsyncIterable<TerminalSize> {
  private readonly items: TerminalSize[] = [];
  private waiter: (() => void) | undefined;
  private ended = false;

  /** Queues one size (ignored after end); beyond MAX_QUEUED_SIZES the oldest is dropped. */
  push(size: TerminalSize): void {
    if (this.ended) return;
    this.items.push(size);
    if (this.items.length > MAX_QUEUED_SIZES) this.items.shift();
    this.wake();
  }

  /** Sizes waiting for the consumer. */
  get length(): number {
    return this.items.length;
  }

  /** Ends iteration once queued sizes are consumed. */
  end(): void {
    this.ended = true;
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<TerminalSize> {
    for (;;) {
      const next = this.items.shift();
      if (next) {
        yield next;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((r) => (this.waiter = r));
    }
  }
}

/**
 * Largest resize message kept for parsing. `{"Width":65535,"Height":65535}` is 31 bytes; the rest
 * is room for whitespace and unknown fields.
 */
export const MAX_RESIZE_MESSAGE_BYTES = 1024;

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Splits a byte stream into top-level JSON objects and parses each as a terminal size. One pass
 * over each byte, state kept between chunks (no re-scanning), at most MAX_RESIZE_MESSAGE_BYTES
 * held: bytes between objects are dropped as they are seen, and an object growing past the limit
 * is dropped and scanning restarts at the next `{` (the sizes are validated anyway). Works on
 * bytes, so a chunk boundary inside a multi-byte character does no harm.
 */
export class ResizeDecoder {
  private readonly message = Buffer.alloc(MAX_RESIZE_MESSAGE_BYTES);
  private fill = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;

  constructor(
    private readonly onSize: (size: TerminalSize) => void,
    /** Called for every object dropped for its size (for a log line). */
    private readonly onOversized: () => void = () => undefined,
  ) {}

  /** Bytes of an unfinished message held (at most MAX_RESIZE_MESSAGE_BYTES). */
  get bufferedBytes(): number {
    return this.fill;
  }

  /** Feeds bytes; calls onSize for every complete, valid object. Invalid objects are skipped. */
  push(chunk: Buffer | string): void {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    for (let i = 0; i < bytes.length; i++) {
      const c = bytes[i];
      if (this.depth === 0) {
        if (c !== OPEN_BRACE) continue; // between objects: dropped
        this.depth = 1;
        this.fill = 0;
        this.inString = false;
        this.escaped = false;
        this.message[this.fill++] = c;
        continue;
      }
      if (this.fill === MAX_RESIZE_MESSAGE_BYTES) {
        this.depth = 0;
        this.fill = 0;
        this.onOversized();
        continue;
      }
      this.message[this.fill++] = c;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === BACKSLASH) this.escaped = true;
        else if (c === QUOTE) this.inString = false;
      } else if (c === QUOTE) {
        this.inString = true;
      } else if (c === OPEN_BRACE) {
        this.depth++;
      } else if (c === CLOSE_BRACE && --this.depth === 0) {
        const size = parseSize(this.message.toString('utf8', 0, this.fill));
        this.fill = 0;
        if (size) this.onSize(size);
      }
    }
  }
}

/** Parses one `{"Width":..,"Height":..}` object (Go field names, case-insensitive as Go's decoder is). */
export function parseSize(json: string): TerminalSize | undefined {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  let width: unknown;
  let height: unknown;
  for (const [k, v] of Object.entries(value)) {
    if (k.toLowerCase() === 'width') width = v;
    if (k.toLowerCase() === 'height') height = v;
  }
  if (!isDimension(width) || !isDimension(height)) return undefined;
  return { width, height };
}

function isDimension(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffff;
}

/** A decoder feeding `queue`, logging (once per session) that oversized messages were dropped. */
export function sessionResizeDecoder(queue: ResizeQueue, logger: Logger): ResizeDecoder {
  let logged = false;
  return new ResizeDecoder(
    (size) => queue.push(size),
    () => {
      if (logged) return;
      logged = true;
      logger.warn('dropping terminal resize messages longer than the limit', { limitBytes: MAX_RESIZE_MESSAGE_BYTES });
    },
  );
}
