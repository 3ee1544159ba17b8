/**
 * An in-process OCI registry for unit tests: serves one small image (built here) over plain HTTP
 * on 127.0.0.1, records every request with its Authorization header, and can demand Basic or
 * Bearer auth or trickle blobs slowly (to test deadlines and cancellation).
 */
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { MEDIA } from '../manifest';
import { buildTar } from './tarball';

/** One request the fake registry saw. */
export interface SeenRequest {
  readonly path: string;
  readonly authorization?: string;
  /** The request body (token server only). */
  readonly body?: string;
}

/** A tiny image: manifest, config and one gzip layer. */
export interface FakeImage {
  readonly manifest: Buffer;
  readonly manifestDigest: string;
  readonly config: Buffer;
  readonly configDigest: string;
  readonly layer: Buffer;
  readonly layerDigest: string;
}

export interface FakeRegistryOptions {
  /** The repository path served (e.g. `team/app`); any tag resolves to the image. */
  readonly repository: string;
  /** Ask for credentials: Basic with this user, or Bearer from `bearerRealm`. */
  readonly basic?: { username: string; password: string };
  readonly bearerRealm?: () => string;
  /** The token accepted after a Bearer exchange. */
  readonly token?: string;
  /** Send the layer blob this slowly: `bytes` every `everyMs` (after the first chunk). */
  readonly trickle?: { bytes: number; everyMs: number };
  /** Layer content size in bytes (random, so it does not compress). */
  readonly layerBytes?: number;
}

export interface FakeRegistry {
  readonly host: string;
  readonly image: FakeImage;
  readonly seen: SeenRequest[];
  /** Blob connections that closed before the blob was fully sent. */
  readonly abortedBlobSends: number;
  close(): Promise<void>;
}

/** sha256 digest of a buffer. */
function digestOf(b: Buffer): string {
  return 'sha256:' + createHash('sha256').update(b).digest('hex');
}

/** Builds a one-layer image with `bytes` of pseudo-random file content. */
export async function buildFakeImage(bytes = 1024): Promise<FakeImage> {
  let x = 0x12345678;
  const content = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    content[i] = x >>> 24;
  }
  const tar = await buildTar([{ name: 'data/blob', content }]);
  const layer = gzipSync(tar, { level: 0 });
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['/bin/sh'] }, rootfs: { type: 'layers', diff_ids: [digestOf(tar)] } }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA.ociManifest,
      config: { mediaType: MEDIA.ociConfig, digest: digestOf(config), size: config.length },
      layers: [{ mediaType: MEDIA.ociLayerGzip, digest: digestOf(layer), size: layer.length }],
    }),
  );
  return { manifest, manifestDigest: digestOf(manifest), config, configDigest: digestOf(config), layer, layerDigest: digestOf(layer) };
}

/** Starts a fake registry on 127.0.0.1:<free port>. */
export async function startFakeRegistry(opts: FakeRegistryOptions): Promise<FakeRegistry> {
  const image = await buildFakeImage(opts.layerBytes);
  const seen: SeenRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let abortedBlobSends = 0;
  const token = opts.token ?? 'fake-token';
  const authorised = (req: http.IncomingMessage): boolean => {
    const a = req.headers.authorization;
    if (opts.basic) return a === 'Basic ' + Buffer.from(`${opts.basic.username}:${opts.basic.password}`).toString('base64');
    if (opts.bearerRealm) return a === `Bearer ${token}`;
    return true;
  };
  const server = http.createServer((req, res) => {
    const url = req.url ?? '';
    seen.push({ path: url, authorization: req.headers.authorization });
    if (!authorised(req)) {
      const challenge = opts.basic ? 'Basic realm="fake"' : `Bearer realm="${opts.bearerRealm!()}",service="fake"`;
      res.writeHead(401, { 'www-authenticate': challenge, 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAUTHORIZED"}]}');
      return;
    }
    const prefix = `/v2/${opts.repository}/`;
    if (url.startsWith(prefix + 'manifests/')) {
      res.writeHead(200, { 'content-type': MEDIA.ociManifest, 'docker-content-digest': image.manifestDigest }).end(image.manifest);
      return;
    }
    if (url === prefix + 'blobs/' + image.configDigest) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(image.config);
      return;
    }
    if (url === prefix + 'blobs/' + image.layerDigest) {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(image.layer.length) });
      if (!opts.trickle) {
        res.end(image.layer);
        return;
      }
      let sent = 0;
      const step = (): void => {
        if (res.destroyed) return;
        const n = Math.min(opts.trickle!.bytes, image.layer.length - sent);
        res.write(image.layer.subarray(sent, sent + n));
        sent += n;
        if (sent >= image.layer.length) {
          res.end();
          return;
        }
        const t = setTimeout(() => {
          timers.delete(t);
          step();
        }, opts.trickle!.everyMs);
        timers.add(t);
      };
      res.on('close', () => {
        if (sent < image.layer.length) abortedBlobSends++;
      });
      step();
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"NOT_FOUND"}]}');
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    image,
    seen,
    get abortedBlobSends() {
      return abortedBlobSends;
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A token server on 127.0.0.2 that records what it was sent and hands out `token`. */
export async function startFakeTokenServer(token = 'fake-token'): Promise<{ url: string; seen: SeenRequest[]; close(): Promise<void> }> {
  const seen: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ path: req.url ?? '', authorization: req.headers.authorization, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token }));
    });
  });
  // 127.0.0.2: another host than the registries' 127.0.0.1 (Linux answers all of 127/8).
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.2', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.2:${port}/token`,
    seen,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
