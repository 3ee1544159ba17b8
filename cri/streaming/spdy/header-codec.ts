/**
 * SPDY/3 name/value header blocks (§2.6.10): a 32-bit pair count, then length-prefixed names and
 * values (multiple values joined by NUL), compressed with one zlib context per direction for the
 * whole connection, primed with the SPDY/3 dictionary. Each block ends on a SYNC_FLUSH so the
 * peer can decode it without the next one. zlib streams are asynchronous in Node, so calls are
 * serialised: blocks must be compressed and inflated in frame order.
 */
import * as zlib from 'node:zlib';
import { SPDY3_DICTIONARY } from './dictionary';
import { MAX_HEADER_BLOCK_BYTES, SpdyProtocolError } from './frames';

/** Header names (lower-case) to values; repeated headers keep every value. */
export type SpdyHeaders = Record<string, string[]>;

/** Serialises header pairs to the uncompressed block layout. */
export function serializeHeaderBlock(headers: SpdyHeaders): Buffer {
  const names = Object.keys(headers);
  const parts: Buffer[] = [];
  const count = Buffer.alloc(4);
  count.writeUInt32BE(names.length, 0);
  parts.push(count);
  for (const name of names) {
    const n = Buffer.from(name.toLowerCase(), 'utf8');
    const v = Buffer.from(headers[name].join('\0'), 'utf8');
    const nl = Buffer.alloc(4);
    nl.writeUInt32BE(n.length, 0);
    const vl = Buffer.alloc(4);
    vl.writeUInt32BE(v.length, 0);
    parts.push(nl, n, vl, v);
  }
  return Buffer.concat(parts);
}

/** Parses an uncompressed header block; throws SpdyProtocolError when malformed. */
export function parseHeaderBlock(block: Buffer): SpdyHeaders {
  if (block.length < 4) throw new SpdyProtocolError('header block too short');
  const count = block.readUInt32BE(0);
  let off = 4;
  const readString = (): string => {
    if (off + 4 > block.length) throw new SpdyProtocolError('header block truncated');
    const len = block.readUInt32BE(off);
    off += 4;
    if (off + len > block.length) throw new SpdyProtocolError('header block truncated');
    const s = block.toString('utf8', off, off + len);
    off += len;
    return s;
  };
  // No prototype: a peer's header named "__proto__" or "constructor" is just a header.
  const out: SpdyHeaders = Object.create(null) as SpdyHeaders;
  for (let i = 0; i < count; i++) {
    const name = readString();
    const value = readString();
    if (name.length === 0) throw new SpdyProtocolError('empty header name');
    if (name !== name.toLowerCase()) throw new SpdyProtocolError(`header name ${name} is not lower-case`);
    // Appended in place: a block repeating one name many times stays linear.
    const values = (out[name] ??= []);
    for (const v of value.split('\0')) values.push(v);
  }
  return out;
}

/** Runs async jobs one at a time, in call order. */
class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(job: () => Promise<T>): Promise<T> {
    const next = this.tail.then(job, job);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

/**
 * Feeds `input` to a zlib transform and resolves with everything it emitted up to a SYNC_FLUSH.
 * Output is counted as zlib produces it (chunk by chunk): once it passes `limit` the engine is
 * destroyed at once, so a decompression bomb costs at most `limit` plus one chunk, never its
 * full size. The engine is unusable afterwards; the connection must be dropped.
 */
function flushThrough(engine: zlib.Deflate | zlib.Inflate, input: Buffer, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (engine.destroyed) {
      reject(new SpdyProtocolError('header compression context is closed'));
      return;
    }
    const chunks: Buffer[] = [];
    let total = 0;
    let settled = false;
    const finish = (err?: SpdyProtocolError) => {
      if (settled) return;
      settled = true;
      engine.off('data', onData);
      engine.off('error', onError);
      if (err) reject(err);
      else resolve(Buffer.concat(chunks, total));
    };
    const onData = (c: Buffer) => {
      total += c.length;
      if (total > limit) {
        chunks.length = 0;
        engine.destroy();
        finish(new SpdyProtocolError(`header block exceeds ${limit} bytes once decompressed`));
        return;
      }
      chunks.push(c);
    };
    const onError = (err: Error) => finish(new SpdyProtocolError(`header block compression failed: ${err.message}`));
    engine.on('data', onData);
    engine.on('error', onError);
    engine.write(input);
    engine.flush(zlib.constants.Z_SYNC_FLUSH, () => finish());
  });
}

/** Compresses outgoing header blocks for one connection. */
export class HeaderCompressor {
  private readonly deflate = zlib.createDeflate({ dictionary: SPDY3_DICTIONARY, level: zlib.constants.Z_DEFAULT_COMPRESSION });
  private readonly queue = new SerialQueue();

  constructor() {
    this.deflate.on('error', () => undefined); // reported to the caller by flushThrough
  }

  /** The compressed block for `headers`, in call order. */
  compress(headers: SpdyHeaders): Promise<Buffer> {
    const raw = serializeHeaderBlock(headers);
    return this.queue.run(() => flushThrough(this.deflate, raw, Number.MAX_SAFE_INTEGER));
  }

  close(): void {
    this.deflate.close();
  }
}

/** Decompresses incoming header blocks for one connection. */
export class HeaderDecompressor {
  private readonly inflate = zlib.createInflate({ dictionary: SPDY3_DICTIONARY });
  private readonly queue = new SerialQueue();

  constructor() {
    this.inflate.on('error', () => undefined); // reported to the caller by flushThrough
  }

  /** The headers of a compressed block, in call order. */
  decompress(block: Buffer): Promise<SpdyHeaders> {
    return this.queue.run(async () => parseHeaderBlock(await flushThrough(this.inflate, block, MAX_HEADER_BLOCK_BYTES)));
  }

  close(): void {
    this.inflate.close();
  }
}
