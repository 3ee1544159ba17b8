/**
 * OCI test images built here from Debian's busybox-static (no internet), and a small push client
 * to put them into a test registry (registry.ts). Pods/containers e2e tests reuse these:
 *
 *   const reg = await startRegistry();
 *   await pushImage(reg.host, 'library/busybox', 'latest', await busyboxImage());
 *   // now pull `${reg.host}/library/busybox:latest` through berth
 *
 * Images (all linux/amd64, gzip layers unless said otherwise; built once per process, memoised):
 * - busyboxImage():   /bin/busybox + a symlink per applet in /bin (sh, ls, cat, sleep, id, …),
 *                     /etc/passwd and /etc/group (root 0, www-data 33, nobody 65534), /tmp 1777,
 *                     Cmd ["/bin/sh"].
 * - layeredImage():   busybox + a layer adding /data/{a,b}, /data/keep/old, /etc/motd + a layer
 *                     with a whiteout of /data/a, an opaque /data/keep (with /data/keep/new) and
 *                     a new /etc/motd. Expected view: see LAYERED_EXPECTATIONS.
 * - nonRootImage():   busybox with USER www-data (uid 33) and WorkingDir /tmp.
 * - bigImage(mb):     busybox + 3 layers of incompressible data totalling ~mb MB (bench).
 * - zstdImage():      busybox with a tar+zstd layer.
 * - pushIndex():      a multi-arch index (e.g. amd64 busybox + an arm64 image); a Docker manifest
 *                     list when every entry was built with `format: 'docker'`.
 * - buildImage({ layers, config, format: 'docker' }) for Docker schema 2 media types.
 */
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import { gzipSync, constants as zc } from 'node:zlib';
import { buildTar, TarEntrySpec } from '../../../image/testing/tarball';

export type { TarEntrySpec };

export interface BuiltLayer {
  readonly blob: Buffer;
  readonly digest: string;
  readonly size: number;
  readonly mediaType: string;
  readonly diffId: string;
}

export interface BuiltImage {
  readonly manifest: Buffer;
  readonly manifestDigest: string;
  readonly mediaType: string;
  readonly config: Buffer;
  readonly configDigest: string;
  readonly layers: readonly BuiltLayer[];
}

export interface ImageSpec {
  readonly layers: readonly (readonly TarEntrySpec[])[];
  readonly config?: Record<string, unknown>;
  readonly compression?: 'gzip' | 'zstd' | 'none';
  readonly architecture?: string;
  readonly variant?: string;
  /** Docker schema 2 media types instead of OCI ones (gzip layers only). */
  readonly format?: 'oci' | 'docker';
}

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const LAYER_TYPES = {
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  none: 'application/vnd.oci.image.layer.v1.tar',
};

/** sha256 digest of a buffer. */
export function digestOf(data: Buffer): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

/** Builds an OCI image (manifest, config, compressed layers) in memory. */
export async function buildImage(spec: ImageSpec): Promise<BuiltImage> {
  const compression = spec.compression ?? 'gzip';
  const layers: BuiltLayer[] = [];
  for (const entries of spec.layers) {
    const tarBytes = await buildTar(entries);
    const blob =
      compression === 'gzip'
        ? gzipSync(tarBytes, { level: zc.Z_BEST_SPEED })
        : compression === 'zstd'
          ? execFileSync('zstd', ['-c', '-q', '-1'], { input: tarBytes, maxBuffer: 1 << 30 })
          : tarBytes;
    const mediaType = spec.format === 'docker' ? 'application/vnd.docker.image.rootfs.diff.tar.gzip' : LAYER_TYPES[compression];
    layers.push({ blob, digest: digestOf(blob), size: blob.length, mediaType, diffId: digestOf(tarBytes) });
  }
  const config = Buffer.from(
    JSON.stringify({
      created: '2024-01-01T00:00:00Z',
      architecture: spec.architecture ?? 'amd64',
      ...(spec.variant ? { variant: spec.variant } : {}),
      os: 'linux',
      config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['/bin/sh'], ...spec.config },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      history: layers.map(() => ({ created: '2024-01-01T00:00:00Z', created_by: 'berth test-images' })),
    }),
  );
  const docker = spec.format === 'docker';
  const mediaType = docker ? DOCKER_MANIFEST : OCI_MANIFEST;
  const configType = docker ? 'application/vnd.docker.container.image.v1+json' : 'application/vnd.oci.image.config.v1+json';
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      config: { mediaType: configType, digest: digestOf(config), size: config.length },
      layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    }),
  );
  return { manifest, manifestDigest: digestOf(manifest), mediaType, config, configDigest: digestOf(config), layers };
}

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33:www-data:/var/www:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n';
const GROUP = 'root:x:0:\nwww-data:x:33:\nnobody:x:65534:\n';

/** The entries of the busybox base layer. */
export function busyboxLayerEntries(): TarEntrySpec[] {
  const applets = execFileSync('/bin/busybox', ['--list'], { encoding: 'utf8' })
    .split('\n')
    .filter((a) => a && a !== 'busybox');
  return [
    { name: 'bin/', type: 'directory' },
    { name: 'bin/busybox', content: readFileSync('/bin/busybox'), mode: 0o755 },
    ...applets.map((a): TarEntrySpec => ({ name: `bin/${a}`, type: 'symlink', linkname: 'busybox' })),
    { name: 'etc/', type: 'directory' },
    { name: 'etc/passwd', content: PASSWD },
    { name: 'etc/group', content: GROUP },
    { name: 'root/', type: 'directory', mode: 0o700 },
    { name: 'tmp/', type: 'directory', mode: 0o1777 },
    { name: 'var/www/', type: 'directory', uid: 33, gid: 33 },
  ];
}

const memo = new Map<string, Promise<BuiltImage>>();
function once(key: string, build: () => Promise<BuiltImage>): Promise<BuiltImage> {
  let p = memo.get(key);
  if (!p) memo.set(key, (p = build()));
  return p;
}

/** busybox-static with applet symlinks, passwd/group, Cmd /bin/sh. */
export function busyboxImage(): Promise<BuiltImage> {
  return once('busybox', () => buildImage({ layers: [busyboxLayerEntries()] }));
}

/** What a correct overlay of layeredImage() shows: path → content, or null when hidden. */
export const LAYERED_EXPECTATIONS: Readonly<Record<string, string | null>> = {
  'data/a': null,
  'data/b': 'b from layer 2\n',
  'data/keep/old': null,
  'data/keep/new': 'new in layer 3\n',
  'etc/motd': 'motd from layer 3\n',
};

/** busybox + two layers exercising whiteouts and an opaque directory. */
export function layeredImage(): Promise<BuiltImage> {
  return once('layered', () =>
    buildImage({
      layers: [
        busyboxLayerEntries(),
        [
          { name: 'data/', type: 'directory' },
          { name: 'data/a', content: 'a from layer 2\n' },
          { name: 'data/b', content: 'b from layer 2\n' },
          { name: 'data/keep/', type: 'directory' },
          { name: 'data/keep/old', content: 'old in layer 2\n' },
          { name: 'etc/motd', content: 'motd from layer 2\n' },
        ],
        [
          { name: 'data/.wh.a', content: '' },
          { name: 'data/keep/', type: 'directory' },
          { name: 'data/keep/.wh..wh..opq', content: '' },
          { name: 'data/keep/new', content: 'new in layer 3\n' },
          { name: 'etc/motd', content: 'motd from layer 3\n' },
        ],
      ],
    }),
  );
}

/** busybox running as www-data (uid 33) in /tmp. */
export function nonRootImage(): Promise<BuiltImage> {
  return once('nonroot', () => buildImage({ layers: [busyboxLayerEntries()], config: { User: 'www-data', WorkingDir: '/tmp' } }));
}

/** busybox with its layer compressed with zstd. */
export function zstdImage(): Promise<BuiltImage> {
  return once('zstd', () => buildImage({ layers: [busyboxLayerEntries()], compression: 'zstd' }));
}

/** busybox + 3 layers of random (incompressible) data totalling about `mb` MB. */
export function bigImage(mb = 50): Promise<BuiltImage> {
  return once(`big-${mb}`, () => {
    const per = Math.floor((mb * 1024 * 1024) / 3);
    const layers = [0, 1, 2].map((i): TarEntrySpec[] => [
      { name: `blob${i}/`, type: 'directory' },
      { name: `blob${i}/data.bin`, content: randomBytes(per) },
    ]);
    return buildImage({ layers: [busyboxLayerEntries(), ...layers] });
  });
}

/** An image for another platform whose content differs from busybox (for index selection tests). */
export function foreignArchImage(architecture: string, variant?: string): Promise<BuiltImage> {
  return once(`foreign-${architecture}-${variant ?? ''}`, () =>
    buildImage({ layers: [[{ name: 'arch', content: `${architecture}${variant ? '/' + variant : ''}\n` }]], architecture, variant }),
  );
}

interface Resp {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function request(url: string, method: string, headers: Record<string, string>, body?: Buffer): Promise<Resp> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: body ? { ...headers, 'content-length': String(body.length) } : headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function authHeaders(creds?: { username: string; password: string }): Record<string, string> {
  return creds ? { authorization: 'Basic ' + Buffer.from(`${creds.username}:${creds.password}`).toString('base64') } : {};
}

/** Uploads one blob (monolithic upload), skipping it when the registry has it. */
export async function pushBlob(host: string, repository: string, blob: Buffer, creds?: { username: string; password: string }): Promise<string> {
  const digest = digestOf(blob);
  const auth = authHeaders(creds);
  const head = await request(`http://${host}/v2/${repository}/blobs/${digest}`, 'HEAD', auth);
  if (head.status === 200) return digest;
  const start = await request(`http://${host}/v2/${repository}/blobs/uploads/`, 'POST', { ...auth, 'content-length': '0' });
  if (start.status !== 202 || !start.headers.location) throw new Error(`push ${repository}: start upload: HTTP ${start.status} ${start.body}`);
  const loc = new URL(start.headers.location, `http://${host}`);
  loc.searchParams.set('digest', digest);
  const put = await request(loc.toString(), 'PUT', { ...auth, 'content-type': 'application/octet-stream' }, blob);
  if (put.status !== 201) throw new Error(`push ${repository}: upload ${digest}: HTTP ${put.status} ${put.body}`);
  return digest;
}

/** PUTs a manifest under `reference` (tag or digest). */
export async function pushManifest(
  host: string,
  repository: string,
  reference: string,
  body: Buffer,
  mediaType: string,
  creds?: { username: string; password: string },
): Promise<string> {
  const res = await request(`http://${host}/v2/${repository}/manifests/${reference}`, 'PUT', { ...authHeaders(creds), 'content-type': mediaType }, body);
  if (res.status !== 201) throw new Error(`push ${repository}:${reference}: manifest: HTTP ${res.status} ${res.body}`);
  return digestOf(body);
}

/** Pushes a built image as `repository:tag`; returns the manifest digest. */
export async function pushImage(
  host: string,
  repository: string,
  tag: string,
  image: BuiltImage,
  creds?: { username: string; password: string },
): Promise<string> {
  await Promise.all(image.layers.map((l) => pushBlob(host, repository, l.blob, creds)));
  await pushBlob(host, repository, image.config, creds);
  return pushManifest(host, repository, tag, image.manifest, image.mediaType, creds);
}

/** Pushes a multi-arch OCI index of `entries` as `repository:tag`; returns the index digest. */
export async function pushIndex(
  host: string,
  repository: string,
  tag: string,
  entries: ReadonlyArray<{ image: BuiltImage; architecture: string; variant?: string }>,
  creds?: { username: string; password: string },
): Promise<string> {
  for (const e of entries) {
    await Promise.all(e.image.layers.map((l) => pushBlob(host, repository, l.blob, creds)));
    await pushBlob(host, repository, e.image.config, creds);
    await pushManifest(host, repository, e.image.manifestDigest, e.image.manifest, e.image.mediaType, creds);
  }
  // All Docker-format entries make a Docker manifest list, otherwise an OCI index.
  const indexType = entries.every((e) => e.image.mediaType === DOCKER_MANIFEST) ? DOCKER_LIST : OCI_INDEX;
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: indexType,
      manifests: entries.map((e) => ({
        mediaType: e.image.mediaType,
        digest: e.image.manifestDigest,
        size: e.image.manifest.length,
        platform: { os: 'linux', architecture: e.architecture, ...(e.variant ? { variant: e.variant } : {}) },
      })),
    }),
  );
  return pushManifest(host, repository, tag, index, indexType, creds);
}
