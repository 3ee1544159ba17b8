/**
 * Terminal resize events: the client sends a stream of JSON objects `{"Width":80,"Height":24}`
 * (Go's json.Encoder, one per line, but nothing guarantees the line breaks or frame boundaries),
 * and the backend consumes them as an async iterable.
 */
import type { TerminalSize } from './backends';

/** An async queue of terminal sizes; iteration ends after `end()`. */
export class ResizeQueue implements AsyncIterable<TerminalSize> {
  private readonly items: TerminalSize[] = [];
  private waiter: (() => void) | undefined;
  private ended = false;

  /** Queues one size (ignored after end). */
  push(size: TerminalSize): void {
    if (this.ended) return;
    this.items.push(size);
    this.wake();
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

/** Splits a byte stream into top-level JSON objects and parses each as a terminal size. */
export class ResizeDecoder {
  private text = '';

  constructor(private readonly onSize: (size: TerminalSize) => void) {}

  /** Feeds bytes; calls onSize for every complete, valid object. Invalid objects are skipped. */
  push(chunk: Buffer | string): void {
    this.text += chunk.toString();
    for (;;) {
      const end = this.findObjectEnd();
      if (end < 0) break;
      const start = this.text.indexOf('{');
      const candidate = this.text.slice(start, end + 1);
      this.text = this.text.slice(end + 1);
      const size = parseSize(candidate);
      if (size) this.onSize(size);
    }
    if (this.text.length > 64 * 1024) this.text = ''; // garbage that never closes: drop it
  }

  /** Index of the `}` closing the first top-level object, or -1. */
  private findObjectEnd(): number {
    let depth = 0;
    let inString = false;
    for (let i = 0; i < this.text.length; i++) {
      const c = this.text[i];
      if (inString) {
        if (c === '\\') i++;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === '{') depth++;
      else if (c === '}') {
        depth--;
        if (depth === 0) return i;
        if (depth < 0) depth = 0;
      }
    }
    return -1;
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
