/**
 * Joins small chunks into chunks of at least `minBytes` (the last one may be shorter). Sockets
 * deliver at most 64 KiB per read; zlib runs every input chunk as one thread-pool round trip, and
 * with 64 KiB inputs those round trips cost more CPU than inflating a stored (incompressible)
 * block. Chunks already big enough pass through without a copy.
 */
import { Transform, TransformCallback } from 'node:stream';

export class ChunkCoalescer extends Transform {
  private parts: Buffer[] = [];
  private pending = 0;

  constructor(private readonly minBytes: number) {
    super();
  }

  override _transform(chunk: Buffer, _e: BufferEncoding, cb: TransformCallback): void {
    if (this.pending === 0 && chunk.length >= this.minBytes) {
      cb(null, chunk);
      return;
    }
    this.parts.push(chunk);
    this.pending += chunk.length;
    if (this.pending >= this.minBytes) this.push(this.joined());
    cb();
  }

  override _flush(cb: TransformCallback): void {
    cb(null, this.pending > 0 ? this.joined() : undefined);
  }

  private joined(): Buffer {
    const out = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.pending);
    this.parts = [];
    this.pending = 0;
    return out;
  }
}
