/**
 * Manifest formats (OCI image-spec, Docker distribution): media types, parsing with validation,
 * and platform selection from an index / manifest list.
 */
import { InvalidArgumentError, FailedPreconditionError } from '../common/errors';
import { isDigest } from './reference';

export const MEDIA = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayerTar: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  ociLayerNondistTar: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  ociLayerNondistGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerForeignGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

/** The Accept header for manifest requests: every format we can read. */
export const MANIFEST_ACCEPT = [MEDIA.ociIndex, MEDIA.ociManifest, MEDIA.dockerList, MEDIA.dockerManifest].join(', ');

/** Largest manifest or config we read (a registry cannot make us buffer more). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** Most layers an image may have: overlayfs stacks at most 500 lower layers. */
export const MAX_LAYERS = 500;

/** Most entries an index may list (real ones have a few dozen, attestations included). */
export const MAX_INDEX_ENTRIES = 1000;

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly platform?: Platform;
  readonly annotations?: Record<string, string>;
}

export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

export interface ImageManifest {
  readonly kind: 'manifest';
  readonly mediaType: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
}

export interface ImageIndex {
  readonly kind: 'index';
  readonly mediaType: string;
  readonly manifests: readonly Descriptor[];
}

export type ParsedManifest = ImageManifest | ImageIndex;

/** How a layer blob is compressed. */
export type LayerCompression = 'none' | 'gzip' | 'zstd';

/** The compression of a layer media type; throws for types we cannot unpack. */
export function layerCompression(mediaType: string): LayerCompression {
  switch (mediaType) {
    case MEDIA.ociLayerTar:
    case MEDIA.ociLayerNondistTar:
      return 'none';
    case MEDIA.ociLayerGzip:
    case MEDIA.ociLayerNondistGzip:
    case MEDIA.dockerLayerGzip:
    case MEDIA.dockerForeignGzip:
      return 'gzip';
    case MEDIA.ociLayerZstd:
      return 'zstd';
    default:
      throw new FailedPreconditionError(`unpack layer: unsupported layer media type ${JSON.stringify(mediaType)}`);
  }
}

function parseDescriptor(v: unknown, where: string): Descriptor {
  if (typeof v !== 'object' || v === null) throw new InvalidArgumentError(`${where}: not an object`);
  const o = v as Record<string, unknown>;
  if (typeof o['mediaType'] !== 'string') throw new InvalidArgumentError(`${where}: mediaType missing`);
  if (typeof o['digest'] !== 'string' || !isDigest(o['digest'])) throw new InvalidArgumentError(`${where}: bad digest`);
  if (typeof o['size'] !== 'number' || !Number.isSafeInteger(o['size']) || o['size'] < 0) {
    throw new InvalidArgumentError(`${where}: bad size`);
  }
  const d: Descriptor = { mediaType: o['mediaType'], digest: o['digest'], size: o['size'] };
  const p = o['platform'];
  if (typeof p === 'object' && p !== null) {
    const po = p as Record<string, unknown>;
    return {
      ...d,
      platform: {
        // Strings only: String() of a hostile object ({"toString": 1}) throws a TypeError.
        os: typeof po['os'] === 'string' ? po['os'] : '',
        architecture: typeof po['architecture'] === 'string' ? po['architecture'] : '',
        variant: typeof po['variant'] === 'string' ? po['variant'] : undefined,
      },
    };
  }
  return d;
}

/**
 * Parses a manifest body. `contentType` (the registry's Content-Type) is used when the body has
 * no mediaType. Schema 1 is refused with a clear error.
 */
export function parseManifest(body: Buffer, contentType?: string): ParsedManifest {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new InvalidArgumentError('parse manifest: not JSON', { cause: err });
  }
  if (typeof doc !== 'object' || doc === null) throw new InvalidArgumentError('parse manifest: not an object');
  const ct = contentType?.split(';')[0]?.trim();
  let mediaType = typeof doc['mediaType'] === 'string' ? doc['mediaType'] : ct ?? '';
  if (doc['schemaVersion'] === 1 || mediaType === MEDIA.dockerSchema1 || mediaType === MEDIA.dockerSchema1Signed) {
    throw new FailedPreconditionError(
      'parse manifest: Docker image manifest schema 1 is deprecated and not supported; push the image again with a current client (schema 2 or OCI)',
    );
  }
  if (!mediaType || mediaType === 'application/json' || mediaType === 'application/octet-stream') {
    mediaType = Array.isArray(doc['manifests']) ? MEDIA.ociIndex : MEDIA.ociManifest;
  }
  if (mediaType === MEDIA.ociIndex || mediaType === MEDIA.dockerList) {
    if (!Array.isArray(doc['manifests'])) throw new InvalidArgumentError('parse manifest: index without manifests');
    const n = (doc['manifests'] as unknown[]).length;
    if (n > MAX_INDEX_ENTRIES) throw new InvalidArgumentError(`parse manifest: index of ${n} entries is over the limit of ${MAX_INDEX_ENTRIES}`);
    return {
      kind: 'index',
      mediaType,
      manifests: (doc['manifests'] as unknown[]).map((m, i) => parseDescriptor(m, `manifests[${i}]`)),
    };
  }
  if (mediaType === MEDIA.ociManifest || mediaType === MEDIA.dockerManifest) {
    if (!Array.isArray(doc['layers'])) throw new InvalidArgumentError('parse manifest: manifest without layers');
    const n = (doc['layers'] as unknown[]).length;
    if (n > MAX_LAYERS) throw new InvalidArgumentError(`parse manifest: ${n} layers is over the limit of ${MAX_LAYERS}`);
    return {
      kind: 'manifest',
      mediaType,
      config: parseDescriptor(doc['config'], 'config'),
      layers: (doc['layers'] as unknown[]).map((l, i) => parseDescriptor(l, `layers[${i}]`)),
    };
  }
  throw new FailedPreconditionError(`parse manifest: unsupported manifest media type ${JSON.stringify(mediaType)}`);
}

/** The platform berth runs images for (Go's GOOS/GOARCH naming). */
export function hostPlatform(): Platform {
  const arch: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' };
  const architecture = arch[process.arch] ?? process.arch;
  return { os: 'linux', architecture, variant: architecture === 'arm64' ? 'v8' : undefined };
}

/**
 * Picks the manifest for `want` from an index: same os and architecture, the wanted variant
 * when present (an entry without a variant matches as a fallback; arm64 treats v8 as default).
 */
export function selectPlatformManifest(index: ImageIndex, want: Platform = hostPlatform()): Descriptor {
  const candidates = index.manifests.filter(
    (m) =>
      m.platform !== undefined &&
      m.platform.os === want.os &&
      m.platform.architecture === want.architecture &&
      (m.mediaType === MEDIA.ociManifest || m.mediaType === MEDIA.dockerManifest),
  );
  const normVariant = (v: string | undefined): string | undefined =>
    want.architecture === 'arm64' && (v === undefined || v === '') ? 'v8' : v || undefined;
  const exact = candidates.find((m) => normVariant(m.platform!.variant) === normVariant(want.variant));
  const fallback = candidates.find((m) => !m.platform!.variant);
  const chosen = exact ?? fallback;
  if (!chosen) {
    const offered = index.manifests
      .map((m) => (m.platform ? [m.platform.os, m.platform.architecture, m.platform.variant].filter(Boolean).join('/') : 'unknown'))
      .join(', ');
    const wanted = [want.os, want.architecture, want.variant].filter(Boolean).join('/');
    throw new FailedPreconditionError(`select manifest: no image for platform ${wanted} (index offers: ${offered || 'nothing'})`);
  }
  return chosen;
}
