/**
 * Content-addressed blob store: `<dir>/sha256/<hex>`. Every blob is written to `<dir>/ingest/`
 * first while its size and digest are checked on the fly, then renamed into place, so a blob
 * file that exists is always complete and correct. Concurrent writes of one digest share one
 * download.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Readable, Transform, TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FailedPreconditionError, InvalidArgumentError } from '../common/errors';
import { isDigest } from './reference';
import { SingleFlight } from './singleflight';

/** Streams data through while hashing it and enforcing an expected size. */
export class VerifyingStream extends Transform {
  private readonly hash;
  private seen = 0;

  constructor(
    private readonly expectedDigest: string,
    private readonly expectedSize: number | undefined,
    private readonly onBytes?: (n: number) => void,
  ) {
    super();
    const algo = expectedDigest.split(':')[0]!;
    this.hash = createHash(algo);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.seen += chunk.length;
    if (this.expectedSize !== undefined && this.seen > this.expectedSize) {
      cb(new FailedPreconditionError(`verify blob ${this.expectedDigest}: more than the expected ${this.expectedSize} bytes`));
      return;
    }
    this.hash.update(chunk);
    this.onBytes?.(chunk.length);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    if (this.expectedSize !== undefined && this.seen !== this.expectedSize) {
      cb(new FailedPreconditionError(`verify blob ${this.expectedDigest}: got ${this.seen} bytes, expected ${this.expectedSize}`));
      return;
    }
    const actual = `${this.expectedDigest.split(':')[0]}:${this.hash.digest('hex')}`;
    if (actual !== this.expectedDigest) {
      cb(new FailedPreconditionError(`verify blob ${this.expectedDigest}: content has digest ${actual}`));
      return;
    }
    cb();
  }
}

/** The sha256 digest of a buffer. */
export function sha256Digest(data: Buffer | string): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

export class ContentStore {
  private readonly flights = new SingleFlight<void>();

  constructor(readonly dir: string) {}

  /** Creates the store directories (0700: blobs are private to berth). */
  async init(): Promise<void> {
    await fs.mkdir(path.join(this.dir, 'sha256'), { recursive: true, mode: 0o700 });
    await fs.rm(path.join(this.dir, 'ingest'), { recursive: true, force: true });
    await fs.mkdir(path.join(this.dir, 'ingest'), { recursive: true, mode: 0o700 });
  }

  /** Where the blob `digest` lives (whether or not it exists). */
  blobPath(digest: string): string {
    if (!isDigest(digest)) throw new InvalidArgumentError(`blob digest ${JSON.stringify(digest)} is malformed`);
    const [algo, hex] = digest.split(':') as [string, string];
    return path.join(this.dir, algo, hex);
  }

  /** True when the blob is stored. */
  async has(digest: string): Promise<boolean> {
    try {
      await fs.access(this.blobPath(digest));
      return true;
    } catch {
      return false;
    }
  }

  /** Size of a stored blob, or undefined. */
  async size(digest: string): Promise<number | undefined> {
    try {
      return (await fs.stat(this.blobPath(digest))).size;
    } catch {
      return undefined;
    }
  }

  /**
   * Stores the blob `digest` from the stream `open()` returns, verifying size and digest while
   * writing; a no-op when it is already stored. Concurrent calls for one digest share one write,
   * which is aborted (temp file removed) only when every caller's `signal` has aborted.
   */
  async ingest(
    digest: string,
    size: number | undefined,
    open: (signal: AbortSignal) => Promise<Readable>,
    onBytes?: (n: number) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    const final = this.blobPath(digest);
    if (await this.has(digest)) return;
    await this.flights.runShared(digest, signal, async (shared) => {
      if (await this.has(digest)) return;
      const tmp = path.join(this.dir, 'ingest', `${digest.replace(':', '-')}-${randomBytes(6).toString('hex')}`);
      try {
        shared.throwIfAborted();
        const source = await open(shared);
        // Opened before the pipeline: a lazily opened stream could create the file after a failed
        // pipeline's cleanup below had already removed it.
        const file = await fs.open(tmp, 'w', 0o600).catch((err: unknown) => {
          source.destroy();
          throw err;
        });
        await pipeline(source, new VerifyingStream(digest, size, onBytes), file.createWriteStream(), { signal: shared });
        await fs.mkdir(path.dirname(final), { recursive: true, mode: 0o700 });
        await fs.rename(tmp, final);
      } catch (err) {
        await fs.rm(tmp, { force: true });
        throw err;
      }
    });
  }

  /** Stores an in-memory blob (manifests, configs) after checking its digest. */
  async putBuffer(digest: string, data: Buffer): Promise<void> {
    await this.ingest(digest, data.length, async () => Readable.from([data]));
  }

  /** Reads a stored blob into memory, refusing blobs over `limit` bytes. */
  async readBuffer(digest: string, limit: number): Promise<Buffer> {
    const p = this.blobPath(digest);
    const st = await fs.stat(p);
    if (st.size > limit) throw new FailedPreconditionError(`read blob ${digest}: ${st.size} bytes is over the ${limit}-byte limit`);
    return fs.readFile(p);
  }

  /** Opens a stored blob for streaming. */
  openRead(digest: string): Readable {
    return createReadStream(this.blobPath(digest), { highWaterMark: 1024 * 1024 });
  }

  /** Deletes a blob; missing is fine. */
  async delete(digest: string): Promise<void> {
    await fs.rm(this.blobPath(digest), { force: true });
  }

  /** Digests of every stored blob. */
  async list(): Promise<string[]> {
    const out: string[] = [];
    for (const algo of await fs.readdir(this.dir)) {
      if (algo === 'ingest') continue;
      for (const hex of await fs.readdir(path.join(this.dir, algo)).catch(() => [] as string[])) out.push(`${algo}:${hex}`);
    }
    return out;
  }
}
