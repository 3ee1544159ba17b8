/**
 * Air-gapped import (`berthd images import FILE`): loads an OCI image layout (directory or tar)
 * or a docker-archive tarball (`docker save`) into the image store, without any registry.
 * Tarballs are first extracted (regular files only, names checked) into a temp dir next to the
 * store, then read like a directory; the temp dir is removed afterwards.
 */
import { createReadStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import type * as tar from 'tar-stream';
import { createGunzip } from 'node:zlib';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../common/errors';
import type { Logger } from '../common/logger';
import { sha256Digest } from './content-store';
import type { ImageStorage, LayerSource } from './image-storage';
import type { ImageRecord } from './image-store';
import { safeComponents } from './layer-unpack';
import { MAX_MANIFEST_BYTES, MEDIA, hostPlatform, parseManifest, selectPlatformManifest } from './manifest';
import { digestedName, parseReference, taggedName } from './reference';

export interface ImportOptions {
  /** Name for images the archive does not name (e.g. an OCI layout tagged only `latest`). */
  readonly name?: string;
  readonly logger: Logger;
}

/** Imports every image in `file` (an OCI layout dir/tar or a docker-archive tar). */
export async function importImageArchive(storage: ImageStorage, file: string, opts: ImportOptions): Promise<ImageRecord[]> {
  let st;
  try {
    st = await fs.stat(file);
  } catch (err) {
    throw new NotFoundError(`import ${file}: cannot read it`, { cause: err });
  }
  if (st.isDirectory()) return importFromDir(storage, file, opts);
  const tmp = path.join(storage.layers.dir, 'tmp', `import-${randomBytes(6).toString('hex')}`);
  await fs.mkdir(tmp, { recursive: true });
  try {
    await extractArchive(file, tmp);
    return await importFromDir(storage, tmp, opts);
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

async function extractArchive(file: string, dest: string): Promise<void> {
  const head = Buffer.alloc(2);
  const fh = await fs.open(file, 'r');
  await fh.read(head, 0, 2, 0);
  await fh.close();
  const input = createReadStream(file);
  const source = head[0] === 0x1f && head[1] === 0x8b ? input.pipe(createGunzip()) : input;
  const extract = tarStreamModule().extract();
  const done = (async () => {
    for await (const entry of extract) {
      const parts = safeComponents(entry.header.name);
      if (entry.header.type === 'file' && parts.length > 0) {
        const target = path.join(dest, ...parts);
        await fs.mkdir(path.dirname(target), { recursive: true });
        const out = await fs.open(target, 'wx');
        try {
          for await (const chunk of entry) await out.write(chunk as Buffer);
        } finally {
          await out.close();
        }
      } else {
        entry.resume();
      }
    }
  })();
  const failed = done.then(
    () => undefined,
    (err: unknown) => err,
  );
  try {
    for await (const chunk of source) {
      if (extract.destroyed) break;
      if (!extract.write(chunk as Buffer)) {
        // Resume on drain, or when the parser died (its error comes out of `done`).
        await new Promise<void>((resolve) => {
          const go = (): void => {
            extract.off('drain', go);
            extract.off('close', go);
            resolve();
          };
          extract.on('drain', go);
          extract.on('close', go);
        });
      }
    }
    (extract as unknown as { end(): void }).end();
  } catch (err) {
    extract.destroy(err as Error);
  }
  const err = await failed;
  source.destroy();
  if (err !== undefined) throw new InvalidArgumentError(`import: read archive ${file}`, { cause: err });
}

async function readJson(file: string, what: string): Promise<unknown> {
  try {
    const st = await fs.stat(file);
    if (st.size > MAX_MANIFEST_BYTES) throw new FailedPreconditionError(`import: ${what} is over the size limit`);
    return JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (err) {
    throw new InvalidArgumentError(`import: read ${what}`, { cause: err });
  }
}

async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(
    () => true,
    () => false,
  );
}

async function importFromDir(storage: ImageStorage, dir: string, opts: ImportOptions): Promise<ImageRecord[]> {
  if (await exists(path.join(dir, 'index.json'))) return importOciLayout(storage, dir, opts);
  if (await exists(path.join(dir, 'manifest.json'))) return importDockerArchive(storage, dir, opts);
  throw new InvalidArgumentError('import: neither an OCI image layout (index.json) nor a docker-archive (manifest.json)');
}

/** The blob path of a digest inside an OCI layout, checked to stay inside it. */
function layoutBlob(dir: string, digest: string): string {
  const m = /^([a-z0-9]+):([a-f0-9]+)$/.exec(digest);
  if (!m) throw new InvalidArgumentError(`import: bad digest ${JSON.stringify(digest)}`);
  return path.join(dir, 'blobs', m[1]!, m[2]!);
}

/** Names for an image from its annotations (full names, or a tag combined with `opts.name`). */
function namesFrom(annotations: Record<string, string> | undefined, fallback: string | undefined): string | undefined {
  const full = annotations?.['io.containerd.image.name'];
  if (full) return full;
  const refName = annotations?.['org.opencontainers.image.ref.name'];
  // A ref.name with ':' or '/' is a name ("busybox:1.36"); otherwise it is a tag ("1.36").
  if (refName && (refName.includes('/') || refName.includes(':'))) {
    try {
      parseReference(refName);
      return refName;
    } catch {
      // a plain tag such as "1.0" falls through
    }
  }
  if (fallback) return refName ? `${fallback.replace(/:[^/:]*$/, '')}:${refName}` : fallback;
  return undefined;
}

async function importOciLayout(storage: ImageStorage, dir: string, opts: ImportOptions): Promise<ImageRecord[]> {
  const index = parseManifest(Buffer.from(JSON.stringify(await readJson(path.join(dir, 'index.json'), 'index.json'))), MEDIA.ociIndex);
  if (index.kind !== 'index') throw new InvalidArgumentError('import: index.json is not an index');
  const out: ImageRecord[] = [];
  const rawIndex = (await readJson(path.join(dir, 'index.json'), 'index.json')) as { manifests?: Array<{ annotations?: Record<string, string> }> };
  for (const [i, desc] of index.manifests.entries()) {
    let manifestBytes = await fs.readFile(layoutBlob(dir, desc.digest));
    if (sha256Digest(manifestBytes) !== desc.digest) throw new FailedPreconditionError(`import: manifest ${desc.digest} does not match its digest`);
    let parsed = parseManifest(manifestBytes, desc.mediaType);
    if (parsed.kind === 'index') {
      const chosen = selectPlatformManifest(parsed, hostPlatform());
      manifestBytes = await fs.readFile(layoutBlob(dir, chosen.digest));
      if (sha256Digest(manifestBytes) !== chosen.digest) throw new FailedPreconditionError(`import: manifest ${chosen.digest} does not match its digest`);
      parsed = parseManifest(manifestBytes, chosen.mediaType);
      if (parsed.kind !== 'manifest') throw new FailedPreconditionError('import: nested index is not supported');
    }
    const manifest = parsed;
    const configBytes = await fs.readFile(layoutBlob(dir, manifest.config.digest));
    if (sha256Digest(configBytes) !== manifest.config.digest) throw new FailedPreconditionError('import: config does not match its digest');
    const name = namesFrom(rawIndex.manifests?.[i]?.annotations, opts.name);
    const ref = name ? parseReference(name, 'name') : undefined;
    const tag = ref ? taggedName(ref) : undefined;
    out.push(
      await storage.writeImage({
        configBytes,
        manifestBytes,
        layers: manifest.layers.map(
          (l): LayerSource => ({ mediaType: l.mediaType, digest: l.digest, size: l.size, open: async () => createReadStream(layoutBlob(dir, l.digest)) }),
        ),
        repoTags: tag ? [tag] : [],
        repoDigests: ref ? [digestedName(ref, desc.digest)] : [],
        size: configBytes.length + manifest.layers.reduce((n, l) => n + l.size, 0),
      }),
    );
    opts.logger.info('imported image', { id: out[out.length - 1]!.id, name });
  }
  return out;
}

/** sha256 of a file, streamed. */
async function hashFile(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return `sha256:${h.digest('hex')}`;
}

interface DockerArchiveEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

/** Media type of a docker-archive layer file from its first bytes. */
async function sniffLayerType(file: string): Promise<string> {
  const fh = await fs.open(file, 'r');
  const head = Buffer.alloc(4);
  try {
    await fh.read(head, 0, 4, 0);
  } finally {
    await fh.close();
  }
  if (head[0] === 0x1f && head[1] === 0x8b) return MEDIA.ociLayerGzip;
  if (head.readUInt32LE(0) === 0xfd2fb528) return MEDIA.ociLayerZstd;
  return MEDIA.ociLayerTar;
}

async function importDockerArchive(storage: ImageStorage, dir: string, opts: ImportOptions): Promise<ImageRecord[]> {
  const entries = (await readJson(path.join(dir, 'manifest.json'), 'manifest.json')) as DockerArchiveEntry[];
  if (!Array.isArray(entries)) throw new InvalidArgumentError('import: manifest.json is not a list');
  const inside = (rel: string): string => path.join(dir, ...safeComponents(rel));
  const out: ImageRecord[] = [];
  for (const e of entries) {
    if (typeof e.Config !== 'string' || !Array.isArray(e.Layers)) throw new InvalidArgumentError('import: malformed manifest.json entry');
    const configBytes = await fs.readFile(inside(e.Config));
    const layers: LayerSource[] = [];
    const descriptors = [];
    for (const l of e.Layers) {
      const file = inside(l);
      const mediaType = await sniffLayerType(file);
      const size = (await fs.stat(file)).size;
      layers.push({ mediaType, open: async () => createReadStream(file) });
      descriptors.push({ mediaType, size, digest: '' });
    }
    // Synthesise an OCI manifest so the image has one like pulled images do.
    const layerDigests = await Promise.all(e.Layers.map((l) => hashFile(inside(l))));
    const manifestBytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA.ociManifest,
        config: { mediaType: MEDIA.ociConfig, digest: sha256Digest(configBytes), size: configBytes.length },
        layers: descriptors.map((d, i) => ({ ...d, digest: layerDigests[i] })),
      }),
    );
    const tags = (e.RepoTags ?? (opts.name ? [opts.name] : [])).map((t) => taggedName(parseReference(t, 'RepoTags'))!).filter(Boolean);
    out.push(
      await storage.writeImage({
        configBytes,
        manifestBytes,
        layers,
        repoTags: tags,
        repoDigests: [],
        size: configBytes.length + descriptors.reduce((n, d) => n + d.size, 0),
      }),
    );
    opts.logger.info('imported image', { id: out[out.length - 1]!.id, tags });
  }
  return out;
}

/** tar-stream, required when a layer/archive is first read: an idle daemon (or one whose unpacking runs in workers) need not carry it. */
function tarStreamModule(): typeof tar {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: see above
  return require('tar-stream') as typeof tar;
}
