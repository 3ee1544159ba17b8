/**
 * The ImageService domain: pull, status, list, remove, filesystem info, and `resolveImage` for
 * the container layer. Lookups (status/list) are served from memory.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { InvalidArgumentError, RuntimeError } from '../common/errors';
import type { Logger } from '../common/logger';
import { imageUser } from './image-config';
import { ImagePuller } from './image-puller';
import { importImageArchive } from './import-archive';
import { ImageStorage } from './image-storage';
import { ImageUsers } from './image-users';
import type { ImageRecord, OciImageConfig } from './image-store';
import type { UnpackNative } from './layer-unpack';
import type { Platform } from './manifest';
import { ImageMetrics, noImageMetrics } from './metrics';
import { parseReference, taggedName, digestedName, withDomain, ImageReference } from './reference';
import { RegistriesConfig, searchRegistries } from './registries-config';
import { StoreUsage } from './store-usage';
import type { RegistryCredentials } from './registry-auth';

const execFileP = promisify(execFile);

export interface ImageServiceOptions {
  /** Directory of the image store, e.g. `/var/lib/berth/images`. */
  readonly dir: string;
  readonly registries: RegistriesConfig;
  readonly native: UnpackNative;
  readonly logger: Logger;
  readonly metrics?: ImageMetrics;
  /** Per-host CA dirs (default `/etc/containers/certs.d`). */
  readonly certsDir?: string;
  readonly zstdPath?: string;
  readonly layerConcurrency?: number;
  /** Compressed size from which a layer is unpacked on a worker thread (see ImageStorageOptions). */
  readonly workerMinLayerBytes?: number;
  readonly platform?: Platform;
}

/** What CRI's Image message carries. */
export interface ImageInfo {
  readonly id: string;
  readonly repoTags: string[];
  readonly repoDigests: string[];
  readonly size: number;
  readonly uid?: number;
  readonly username?: string;
  readonly pinned: boolean;
}

/** An image as the container layer needs it. */
export interface ResolvedImage {
  readonly id: string;
  readonly repoTags: string[];
  readonly repoDigests: string[];
  readonly config: OciImageConfig;
  /** Overlay lowerdir paths, topmost layer first, short enough for mount options. */
  readonly lowerDirs: string[];
}

/** ImageFsInfo's answer for the image store's filesystem. */
export interface ImageFsUsage {
  readonly timestampNs: bigint;
  readonly mountpoint: string;
  readonly usedBytes: number;
  readonly inodesUsed: number;
}

const ID_RE = /^(?:sha256:)?([a-f0-9]{64})$/;

export class ImageService {
  private registries: RegistriesConfig;
  private readonly puller: ImagePuller;
  private readonly metrics: ImageMetrics;
  private readonly usage: StoreUsage;
  private readonly users = new ImageUsers();
  /** Images whose removal has begun: no longer handed out to containers. */
  private readonly removing = new Set<string>();
  /** ImageInfo per record, shared (frozen): records are replaced, never changed, so a new state is a new record. */
  private readonly infos = new WeakMap<ImageRecord, ImageInfo>();
  /** The tag or digest names a reference string is looked up by (parsing it is most of a lookup); reset when the registries change. */
  private readonly lookupNames = new Map<string, ReadonlyArray<{ digest: boolean; name: string }>>();

  private constructor(
    private readonly opts: ImageServiceOptions,
    readonly storage: ImageStorage,
  ) {
    this.registries = opts.registries;
    this.metrics = opts.metrics ?? noImageMetrics;
    this.usage = new StoreUsage({ measure: () => diskUsage(opts.dir), onError: (err) => opts.logger.warn('measuring the image store failed', { error: err instanceof Error ? err : String(err) }) });
    this.puller = new ImagePuller({
      storage,
      registries: () => this.registries,
      logger: opts.logger,
      certsDir: opts.certsDir,
      platform: opts.platform,
    });
  }

  /** Opens (and recovers) the image store. */
  static async create(opts: ImageServiceOptions): Promise<ImageService> {
    const storage = new ImageStorage({
      dir: opts.dir,
      native: opts.native,
      logger: opts.logger,
      zstdPath: opts.zstdPath,
      layerConcurrency: opts.layerConcurrency,
      workerMinLayerBytes: opts.workerMinLayerBytes,
    });
    await storage.init();
    return new ImageService(opts, storage);
  }

  /** Lets go of the layer unpack threads (the last user stops them; layers unpacking on them fail). Idle threads never keep the process alive. */
  async close(): Promise<void> {
    await this.storage.close();
  }

  /** Replaces the registries config (e.g. on SIGHUP). */
  setRegistriesConfig(config: RegistriesConfig): void {
    this.registries = config;
    this.lookupNames.clear();
  }

  /** Pulls `image` and returns the stored image; the id is the config digest. */
  async pullImage(image: string, options: { credentials?: RegistryCredentials; signal?: AbortSignal } = {}): Promise<ImageInfo> {
    const ref = parseReference(image, 'image.image');
    const started = process.hrtime.bigint();
    const log = this.opts.logger.child({ image });
    try {
      const rec = await this.puller.pull(ref, { ...options, onBytes: (n) => this.metrics.bytesPulled(n), onStep: this.metrics.pullStep?.bind(this.metrics) });
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.metrics.pullFinished('success', seconds);
      this.usage.markStale();
      log.info('pulled image', { id: rec.id, seconds: Math.round(seconds * 1000) / 1000 });
      return this.infoOf(rec);
    } catch (err) {
      this.metrics.pullFinished('failure', Number(process.hrtime.bigint() - started) / 1e9);
      log.warn('pull failed', { error: err instanceof Error ? err : String(err) });
      throw err;
    }
  }

  /** The image `image` (id, tag, digest reference) names, or undefined. */
  imageStatus(image: string): ImageInfo | undefined {
    const rec = this.lookup(image);
    return rec ? this.infoOf(rec) : undefined;
  }

  /** The config JSON of an image (for verbose ImageStatus). */
  async imageConfigJson(id: string): Promise<string | undefined> {
    try {
      return (await this.storage.content.readBuffer(id, 4 * 1024 * 1024)).toString('utf8');
    } catch {
      return undefined;
    }
  }

  /** Every image, or just the one `filter` names. */
  listImages(filter?: string): ImageInfo[] {
    if (filter) {
      const rec = this.lookup(filter);
      return rec ? [this.infoOf(rec)] : [];
    }
    return this.storage.images.list().map((r) => this.infoOf(r));
  }

  /**
   * Removes `image`: by id or digest the whole image; by tag only that tag when the image has
   * others (as cri-o does), else the whole image. Unknown images are fine (idempotent).
   */
  async removeImage(image: string): Promise<void> {
    const rec = this.lookup(image);
    if (!rec) return;
    if (!ID_RE.test(image) && !image.includes('@') && rec.repoTags.length > 1) {
      const tag = this.tagOf(image);
      if (tag && rec.repoTags.includes(tag)) {
        await this.storage.untag(rec.id, tag);
        return;
      }
    }
    try {
      await this.storage.removeImage(rec.id, () => {
        // Checked and marked in one step: a container that registers later no longer resolves the image.
        this.users.assertUnused(rec.id, JSON.stringify(image.slice(0, 256)));
        this.removing.add(rec.id);
      });
    } finally {
      this.removing.delete(rec.id);
    }
    this.usage.markStale();
    this.opts.logger.info('removed image', { id: rec.id, tags: rec.repoTags });
  }

  /** Marks image `imageId` as used by an image volume of `containerId` (RemoveImage refuses it meanwhile). */
  addImageUser(imageId: string, containerId: string): void {
    this.users.add(imageId, containerId);
  }

  /** The image volume of `containerId` no longer uses image `imageId`. */
  removeImageUser(imageId: string, containerId: string): void {
    this.users.remove(imageId, containerId);
  }

  /** Usage of the filesystem holding the image store. */
  async imageFsInfo(): Promise<ImageFsUsage> {
    const { bytes, inodes, atMs } = await this.usage.get();
    return {
      timestampNs: BigInt(atMs) * 1_000_000n,
      mountpoint: this.opts.dir,
      usedBytes: bytes,
      inodesUsed: inodes,
    };
  }

  /** The image `ref` names, with what a container needs to run it (undefined when absent). */
  async resolveImage(ref: string): Promise<ResolvedImage | undefined> {
    const rec = this.lookup(ref);
    if (!rec || this.removing.has(rec.id)) return undefined;
    return {
      id: rec.id,
      repoTags: [...rec.repoTags],
      repoDigests: [...rec.repoDigests],
      config: this.storage.imageConfigOf(rec.id),
      lowerDirs: this.storage.lowerDirs(rec),
    };
  }

  /** Loads an OCI layout (dir or tar) or docker-archive tar into the store (`berthd images import`). */
  async importArchive(file: string, name?: string): Promise<ImageInfo[]> {
    const recs = await importImageArchive(this.storage, file, { name, logger: this.opts.logger });
    this.usage.markStale();
    return recs.map((r) => this.infoOf(r));
  }

  /** Marks an image pinned (or not). */
  async setPinned(image: string, pinned: boolean): Promise<void> {
    const rec = this.lookup(image);
    if (rec) await this.storage.setPinned(rec.id, pinned);
  }

  /** The ImageInfo of a record (shared and frozen once the image's config is known, which fixes uid and username). */
  private infoOf(rec: ImageRecord): ImageInfo {
    const cached = this.infos.get(rec);
    if (cached) return cached;
    const config = this.storage.configOf(rec.id)?.config;
    const user = imageUser(config ?? {});
    const info: ImageInfo = {
      id: rec.id,
      repoTags: Object.freeze([...rec.repoTags]) as string[],
      repoDigests: Object.freeze([...rec.repoDigests]) as string[],
      size: rec.size,
      uid: user.uid,
      username: user.username,
      pinned: rec.pinned,
    };
    if (config) this.infos.set(rec, Object.freeze(info));
    return info;
  }

  private tagOf(image: string): string | undefined {
    try {
      const ref = parseReference(image, 'image');
      return taggedName(ref);
    } catch {
      return undefined;
    }
  }

  /** Finds the record `image` names: full id, tag or digest reference, or a unique id prefix. */
  private lookup(image: string): ImageRecord | undefined {
    const images = this.storage.images;
    const id = ID_RE.exec(image);
    if (id) {
      const rec = images.get(`sha256:${id[1]}`);
      if (rec) return rec;
    }
    let names = this.lookupNames.get(image);
    if (!names) {
      let ref: ImageReference | undefined;
      try {
        ref = parseReference(image, 'image.image');
      } catch (err) {
        if (/^(?:sha256:)?[a-f0-9]{6,64}$/.test(image)) return this.uniquePrefix(image);
        throw err;
      }
      const candidates = ref.shortName ? searchRegistries(this.registries).map((d) => withDomain(ref!, d)) : [ref];
      names = candidates.map((c) => (c.digest ? { digest: true, name: digestedName(c, c.digest) } : { digest: false, name: taggedName(c)! }));
      // Bounded: a client naming ever new images costs a reset, not memory.
      if (this.lookupNames.size >= 256) this.lookupNames.clear();
      if (image.length <= 512) this.lookupNames.set(image, names);
    }
    for (const n of names) {
      const rec = n.digest ? images.findByRepoDigest(n.name) : images.findByTag(n.name);
      if (rec) return rec;
    }
    if (/^[a-f0-9]{6,63}$/.test(image)) return this.uniquePrefix(image);
    return undefined;
  }

  private uniquePrefix(prefix: string): ImageRecord | undefined {
    const found = this.storage.images.findByIdPrefix(prefix);
    if (found.length > 1) throw new InvalidArgumentError(`image: id prefix ${prefix} is ambiguous`);
    return found[0];
  }
}

/** Bytes and inodes used under `dir` (du; the image store is usually on the root fs). */
async function diskUsage(dir: string): Promise<{ bytes: number; inodes: number }> {
  try {
    const [b, i] = await Promise.all([
      execFileP('du', ['-s', '-x', '-B1', dir]),
      execFileP('du', ['-s', '-x', '--inodes', dir]),
    ]);
    return { bytes: parseInt(b.stdout, 10), inodes: parseInt(i.stdout, 10) };
  } catch (err) {
    throw new RuntimeError(`measure disk usage of ${dir}`, { cause: err });
  }
}
