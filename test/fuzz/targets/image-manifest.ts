/**
 * Fuzz target: manifest, index and image config JSON from a registry (image/manifest.ts,
 * image/image-config.ts) and what berth derives from them (platform choice, layer compression,
 * the image user). Rejections must be typed (InvalidArgument / FailedPrecondition); results must
 * stay within the limits (layers, index entries) and keep the types the container layer expects.
 */
import fc from 'fast-check';
import { FailedPreconditionError, InvalidArgumentError } from '../../../common/errors';
import { imageUser, parseImageConfig } from '../../../image/image-config';
import { layerCompression, MAX_INDEX_ENTRIES, MAX_LAYERS, MEDIA, parseManifest, selectPlatformManifest } from '../../../image/manifest';
import type { FuzzTarget } from '../target';

const dg = (c: string): string => 'sha256:' + c.repeat(64);

const SEEDS: unknown[] = [
  {
    schemaVersion: 2,
    mediaType: MEDIA.ociManifest,
    config: { mediaType: MEDIA.ociConfig, digest: dg('a'), size: 100 },
    layers: [{ mediaType: MEDIA.ociLayerGzip, digest: dg('b'), size: 1000 }],
  },
  {
    schemaVersion: 2,
    mediaType: MEDIA.dockerList,
    manifests: [
      { mediaType: MEDIA.dockerManifest, digest: dg('c'), size: 10, platform: { os: 'linux', architecture: 'amd64' } },
      { mediaType: MEDIA.ociManifest, digest: dg('d'), size: 10, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
    ],
  },
  {
    architecture: 'amd64',
    os: 'linux',
    config: { User: 'www-data:33', Env: ['A=1'], Entrypoint: null, Cmd: ['/bin/sh'], WorkingDir: '/tmp', Labels: { a: 'b' }, ExposedPorts: { '80/tcp': {} } },
    rootfs: { type: 'layers', diff_ids: [dg('e')] },
  },
  { schemaVersion: 1, name: 'old', fsLayers: [] },
];

function typed(err: unknown): boolean {
  return err instanceof InvalidArgumentError || err instanceof FailedPreconditionError;
}

const isStrings = (v: unknown): boolean => v === undefined || (Array.isArray(v) && v.every((s) => typeof s === 'string'));

export const target: FuzzTarget = {
  name: 'image-manifest',
  seeds: () => SEEDS.map((s) => new TextEncoder().encode(JSON.stringify(s))),
  async run(input: Uint8Array): Promise<void> {
    const body = Buffer.from(input);
    for (const contentType of [undefined, MEDIA.ociIndex, MEDIA.dockerManifest, 'application/json']) {
      try {
        const m = parseManifest(body, contentType);
        if (m.kind === 'manifest') {
          if (m.layers.length > MAX_LAYERS) throw new Error(`${m.layers.length} layers passed the limit`);
          for (const l of m.layers) {
            try {
              layerCompression(l.mediaType);
            } catch (err) {
              if (!typed(err)) throw err;
            }
          }
        } else {
          if (m.manifests.length > MAX_INDEX_ENTRIES) throw new Error(`${m.manifests.length} index entries passed the limit`);
          for (const p of [undefined, { os: 'linux', architecture: 'arm64' }, { os: 'linux', architecture: 'arm', variant: 'v7' }]) {
            try {
              selectPlatformManifest(m, p);
            } catch (err) {
              if (!typed(err)) throw err;
            }
          }
        }
      } catch (err) {
        if (!typed(err)) throw new Error(`parseManifest threw ${String(err)}`, { cause: err });
      }
    }
    try {
      const c = parseImageConfig(body);
      if (c.diffIds.length > MAX_LAYERS) throw new Error(`${c.diffIds.length} diff_ids passed the limit`);
      const cfg = c.config;
      if (!isStrings(cfg.Env) || !isStrings(cfg.Cmd ?? undefined) || !isStrings(cfg.Entrypoint ?? undefined)) throw new Error('config arrays of non-strings passed');
      for (const k of ['User', 'WorkingDir', 'StopSignal'] as const) if (cfg[k] !== undefined && typeof cfg[k] !== 'string') throw new Error(`config.${k} is not a string`);
      imageUser(cfg);
    } catch (err) {
      if (!typed(err)) throw new Error(`parseImageConfig/imageUser threw ${String(err)}`, { cause: err });
    }
  },
  arbitrary: fc
    .oneof(
      fc.record({
        schemaVersion: fc.constantFrom(1, 2, '2', null),
        mediaType: fc.constantFrom(MEDIA.ociManifest, MEDIA.ociIndex, MEDIA.dockerList, MEDIA.dockerManifest, 'x', undefined),
        config: fc.anything(),
        layers: fc.oneof(fc.anything(), fc.array(fc.record({ mediaType: fc.string(), digest: fc.constantFrom(dg('a'), 'sha256:x', 5), size: fc.anything() }))),
        manifests: fc.array(fc.record({ mediaType: fc.constantFrom(MEDIA.ociManifest, 'x'), digest: fc.constantFrom(dg('b')), size: fc.nat(), platform: fc.anything() })),
      }),
      fc.record({
        os: fc.anything(),
        architecture: fc.anything(),
        config: fc.oneof(fc.anything(), fc.record({ User: fc.anything(), Env: fc.anything(), Cmd: fc.anything(), Labels: fc.anything(), Volumes: fc.anything() })),
        rootfs: fc.oneof(fc.anything(), fc.record({ diff_ids: fc.oneof(fc.anything(), fc.array(fc.constant(dg('f')))) })),
      }),
      fc.anything(),
    )
    .map((v) => new TextEncoder().encode(JSON.stringify(v) ?? 'null')),
  budgetMs: 2000,
};
