/**
 * The image store on disk: blobs (manifests, configs), unpacked layers shared by chain ID, and
 * image records, with reference counting so removing an image frees what no other image uses.
 * Writing an image: layers first (each into a temp dir, renamed when complete and verified),
 * then the record; nothing half-written is ever visible.
 */
import * as path from 'node:path';
import { addAbortSignal, pipeline, Readable } from 'node:stream';
import { InvalidArgumentError } from '../common/errors';
import { ensurePrivateDirs } from '../common/private-dirs';
import { KeyedMutex } from '../common/keyed-mutex';
import { timeAsync } from '../common/timed';
import type { Logger } from '../common/logger';
import { ContentStore, VerifyingStream, sha256Digest } from './content-store';
import { ImageRecord, ImageStore, OciImageConfig } from './image-store';
import { LayerStore, chainIds } from './layer-store';
import { UnpackNative, UnpackResult, unpackLayer } from './layer-unpack';
import { LayerWorkerPool, sharedLayerWorkerPool } from './layer-worker-pool';
import { layerCompression, MAX_MANIFEST_BYTES } from './manifest';
import { parseImageConfig, ParsedImageConfig } from './image-config';

/** A layer to write: how to open its (compressed) blob, and what to verify it against. */
export interface LayerSource {
  readonly mediaType: string;
  /** Compressed digest and size to verify while streaming (skipped when absent). */
  readonly digest?: string;
  readonly size?: number;
  /** Opens the blob; `signal` aborts the download (the layer's shared unpack was given up). */
  open(signal: AbortSignal): Promise<Readable>;
}

export interface WriteImageInput {
  readonly configBytes: Buffer;
  /** The platform image manifest (its digest is recorded; an index digest goes in repoDigests). */
  readonly manifestBytes: Buffer;
  readonly layers: readonly LayerSource[];
  readonly repoTags: readonly string[];
  readonly repoDigests: readonly string[];
  readonly size: number;
  readonly onBytes?: (n: number) => void;
  /** Called after each layer this write downloads and unpacks (not for layers already stored). */
  readonly onLayerDone?: (digest: string | undefined, seconds: number, ok: boolean) => void;
  /**
   * The caller's cancellation: it stops waiting at once; shared layer downloads stop when no other
   * writer waits for them; no record is written once it aborted.
   */
  readonly signal?: AbortSignal;
}

export interface ImageStorageOptions {
  /** `<root>/images`. */
  readonly dir: string;
  readonly native: UnpackNative;
  readonly logger: Logger;
  readonly zstdPath?: string;
  /** Layers unpacked at once per image (3–6 is sensible). */
  readonly layerConcurrency?: number;
  /**
   * Layers whose compressed size is at least this many bytes are unpacked on a worker thread
   * (default 4 MiB; `Infinity` unpacks everything on the main thread). Small layers stay in-process:
   * starting a worker costs more than unpacking them.
   */
  readonly workerMinLayerBytes?: number;
  /** Where big layers are unpacked (default: the process-wide pool). */
  readonly workerPool?: LayerWorkerPool;
}

/** Default of ImageStorageOptions.workerMinLayerBytes. */
const DEFAULT_WORKER_MIN_LAYER_BYTES = 4 * 1024 * 1024;

/** Runs one layer's download and unpack, telling `input.onLayerDone` how long it took. */
function timeLayer<T>(input: WriteImageInput, digest: string | undefined, fn: () => Promise<T>): Promise<T> {
  const done = input.onLayerDone;
  return done ? timeAsync(fn, (seconds, ok) => done(digest, seconds, ok)) : fn();
}

/** Runs `fn` over `items` with at most `limit` running at once; fails fast. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i]!, i);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const workers = Array.from({ length: Math.min(limit, items.length) }, worker);
  const settled = await Promise.allSettled(workers);
  const rejected = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (rejected) throw rejected.reason;
  return results;
}

export class ImageStorage {
  readonly content: ContentStore;
  readonly layers: LayerStore;
  readonly images: ImageStore;
  /** Parsed configs by image id, so resolveImage never touches the disk. */
  private readonly configs = new Map<string, ParsedImageConfig>();
  /** Serialises record changes and garbage collection. */
  private readonly lock = new KeyedMutex();
  /** Chain IDs in use by writes in progress: never collected. */
  private readonly leases = new Map<string, number>();
  /** Records dropped at init because a layer or the config was missing. */
  private readonly dropped: string[] = [];
  /** Threads unpacking big layers. */
  private readonly workers: LayerWorkerPool;
  private closed = false;

  constructor(private readonly opts: ImageStorageOptions) {
    this.content = new ContentStore(path.join(opts.dir, 'blobs'));
    this.layers = new LayerStore(opts.dir);
    this.images = new ImageStore(opts.dir);
    this.workers = opts.workerPool ?? sharedLayerWorkerPool();
    this.workers.retain();
  }

  /** Loads everything from disk and drops records whose layers or config are gone. */
  async init(): Promise<void> {
    await this.securePermissions();
    await this.content.init();
    await this.layers.init();
    await this.images.init();
    for (const rec of this.images.list()) {
      try {
        const missing = rec.chainIds.find((c) => !this.layers.get(c));
        if (missing) throw new Error(`layer ${missing} is missing`);
        this.configs.set(rec.id, parseImageConfig(await this.content.readBuffer(rec.id, MAX_MANIFEST_BYTES)));
      } catch (err) {
        this.opts.logger.warn('dropping incomplete image record', { image: rec.id, error: String(err) });
        await this.images.delete(rec.id);
        this.dropped.push(rec.id);
      }
    }
    for (const bad of this.images.unreadable) this.opts.logger.error('skipping unreadable image record', { image: bad.id, file: bad.file, error: bad.error });
    await this.collectGarbage();
  }

  /**
   * The store and its structure directories are 0700: blobs, unpacked layers and records are
   * berth's alone (overlayfs reads lower layers with the mounter's credentials, so containers need
   * no path to them). Existing wider directories are tightened, logged once.
   */
  private async securePermissions(): Promise<void> {
    const d = this.opts.dir;
    const b = path.join(d, 'blobs');
    const dirs = [d, b, path.join(b, 'sha256'), path.join(d, 'layers'), path.join(d, 'l'), path.join(d, 'tmp'), path.join(d, 'records')];
    const changes = await ensurePrivateDirs(dirs);
    if (changes.length > 0) this.opts.logger.warn('tightened image store permissions', { changes });
  }

  /** What init found: records dropped as incomplete, unreadable ones, temp files removed. */
  recoveryReport(): { images: number; droppedIncomplete: string[]; unreadable: Array<{ id: string; file: string; error: string }>; tempFilesRemoved: string[] } {
    return { images: this.images.list().length, droppedIncomplete: [...this.dropped], unreadable: [...this.images.unreadable], tempFilesRemoved: [...this.images.tempFilesRemoved] };
  }

  /** The parsed config of an image. */
  configOf(id: string): ParsedImageConfig | undefined {
    return this.configs.get(id);
  }

  /** The image config object (`config` in the config JSON). */
  imageConfigOf(id: string): OciImageConfig {
    return this.configs.get(id)?.config ?? {};
  }

  /** Overlay lowerdirs for an image, topmost layer first. */
  lowerDirs(rec: ImageRecord): string[] {
    return rec.chainIds
      .map((c) => {
        const meta = this.layers.get(c);
        if (!meta) throw new InvalidArgumentError(`image ${rec.id}: layer ${c} is missing`);
        return this.layers.linkPath(meta);
      })
      .reverse();
  }

  /** Writes layers, blobs and the record of an image; returns the record. */
  async writeImage(input: WriteImageInput): Promise<ImageRecord> {
    const configDigest = sha256Digest(input.configBytes);
    const parsed = parseImageConfig(input.configBytes);
    if (parsed.diffIds.length !== input.layers.length) {
      throw new InvalidArgumentError(`write image ${configDigest}: manifest has ${input.layers.length} layers, config has ${parsed.diffIds.length} diff_ids`);
    }
    const chains = chainIds(parsed.diffIds);
    for (const c of chains) this.leases.set(c, (this.leases.get(c) ?? 0) + 1);
    try {
      // The config and manifest blobs do not depend on the layers: store them meanwhile.
      const blobsStored = Promise.all([
        this.content.putBuffer(configDigest, input.configBytes),
        this.content.putBuffer(sha256Digest(input.manifestBytes), input.manifestBytes),
      ]);
      try {
        await this.writeLayers(input, parsed.diffIds, chains);
      } catch (err) {
        await blobsStored.catch(() => undefined);
        throw err;
      }
      await blobsStored;
      input.signal?.throwIfAborted();
      return await this.lock.run('records', async () => {
        input.signal?.throwIfAborted();
        // A tag names one image: move it off any other image.
        for (const other of this.images.list()) {
          if (other.id === configDigest) continue;
          const kept = other.repoTags.filter((t) => !input.repoTags.includes(t));
          if (kept.length !== other.repoTags.length) await this.images.put({ ...other, repoTags: kept });
        }
        const prev = this.images.get(configDigest);
        const rec: ImageRecord = {
          version: 1,
          id: configDigest,
          repoTags: union(prev?.repoTags, input.repoTags),
          repoDigests: union(prev?.repoDigests, input.repoDigests),
          manifestDigest: sha256Digest(input.manifestBytes),
          size: input.size,
          chainIds: chains,
          pinned: prev?.pinned ?? false,
          createdAt: prev?.createdAt ?? Date.now(),
        };
        await this.images.put(rec);
        this.configs.set(rec.id, parsed);
        return rec;
      });
    } finally {
      for (const c of chains) {
        const n = (this.leases.get(c) ?? 1) - 1;
        if (n <= 0) this.leases.delete(c);
        else this.leases.set(c, n);
      }
    }
  }

  /** Unpacks the layers that are not stored yet, up to layerConcurrency at once. */
  private async writeLayers(input: WriteImageInput, diffIds: readonly string[], chains: readonly string[]): Promise<void> {
    const minWorker = this.opts.workerMinLayerBytes ?? DEFAULT_WORKER_MIN_LAYER_BYTES;
    await mapLimit(input.layers, this.opts.layerConcurrency ?? 4, async (layer, i) => {
      const compression = layerCompression(layer.mediaType);
      await this.layers.ensure(chains[i]!, diffIds[i]!, chains[i - 1], (dir, signal) => timeLayer(input, layer.digest, async () => {
        // The download dies with the shared signal whatever the source does with it.
        const open = async (): Promise<Readable> => addAbortSignal(signal, await layer.open(signal));
        if (layer.size !== undefined && layer.size >= minWorker) {
          const job = { compression, root: dir, zstdPath: this.opts.zstdPath, digest: layer.digest, size: layer.size };
          return this.warnSkippedDirTimes(layer.digest, await this.workers.unpack({ open, job, native: this.opts.native, onBytes: input.onBytes }));
        }
        const blob = await open();
        // pipeline() ties both ends: a failed unpack also closes the download, and vice versa.
        const verified =
          layer.digest !== undefined
            ? pipeline(blob, new VerifyingStream(layer.digest, layer.size, input.onBytes), () => undefined)
            : blob;
        const opts = { native: this.opts.native, zstdPath: this.opts.zstdPath, digest: layer.digest };
        return this.warnSkippedDirTimes(layer.digest, await unpackLayer(verified, compression, dir, opts));
      }), input.signal);
    });
  }

  /** Logs a layer with more directories than the unpacker sets times for; returns `result`. */
  private warnSkippedDirTimes(digest: string | undefined, result: UnpackResult): UnpackResult {
    if (result.dirTimesSkipped) {
      this.opts.logger.warn('layer has too many directories: some keep the time of their last write', { layer: digest, directories: result.dirTimesSkipped });
    }
    return result;
  }

  /** Lets go of the unpack worker threads (the last user of a pool stops them; idle ones also stop by themselves). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.workers.releaseUser();
    await this.layers.removalsSettled();
  }

  /** Removes an image record and frees layers and blobs no other image uses. */
  async removeImage(id: string, beforeDelete?: () => void): Promise<void> {
    await this.lock.run('records', async () => {
      // Under the lock, so a check made here (e.g. "not in use") still holds when the record goes.
      beforeDelete?.();
      await this.images.delete(id);
      this.configs.delete(id);
      await this.collectGarbageLocked();
    });
  }

  /** Removes one tag from an image (the image stays). */
  async untag(id: string, tag: string): Promise<void> {
    await this.lock.run('records', async () => {
      const rec = this.images.get(id);
      if (rec && rec.repoTags.includes(tag)) await this.images.put({ ...rec, repoTags: rec.repoTags.filter((t) => t !== tag) });
    });
  }

  /** Sets or clears the pinned flag (pinned images are exempt from kubelet's GC). */
  async setPinned(id: string, pinned: boolean): Promise<void> {
    await this.lock.run('records', async () => {
      const rec = this.images.get(id);
      if (rec && rec.pinned !== pinned) await this.images.put({ ...rec, pinned });
    });
  }

  /** Deletes layers and blobs no image record (or write in progress) refers to. */
  async collectGarbage(): Promise<void> {
    await this.lock.run('records', () => this.collectGarbageLocked());
  }

  private async collectGarbageLocked(): Promise<void> {
    // An unreadable record may name layers that running containers use as lowerdirs: keep all.
    if (this.images.unreadable.length > 0) return;
    const usedChains = new Set<string>(this.leases.keys());
    const usedBlobs = new Set<string>();
    for (const rec of this.images.list()) {
      rec.chainIds.forEach((c) => usedChains.add(c));
      usedBlobs.add(rec.id);
      usedBlobs.add(rec.manifestDigest);
      for (const d of rec.repoDigests) usedBlobs.add(d.slice(d.indexOf('@') + 1));
    }
    for (const c of this.layers.chainIdsStored()) if (!usedChains.has(c)) await this.layers.remove(c);
    if (this.leases.size > 0) return; // blobs of a write in progress are not in any record yet
    for (const b of await this.content.list()) if (!usedBlobs.has(b)) await this.content.delete(b);
  }
}

function union(a: readonly string[] | undefined, b: readonly string[]): string[] {
  return [...new Set([...(a ?? []), ...b])];
}
