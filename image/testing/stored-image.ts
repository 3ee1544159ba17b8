/** An image written straight into an ImageService's storage (no registry), for tests of what reads images. */
import { Readable } from 'node:stream';
import { sha256Digest } from '../content-store';
import type { ImageService } from '../image-service';
import { buildTar } from './tarball';

/** Stores a one-layer image (the layer holds `file`) whose config runs as `user`, under `repoTags`; returns its id. */
export async function storeTestImage(svc: ImageService, repoTags: string[], user: string, file = 'a.txt'): Promise<string> {
  const layer = await buildTar([{ name: file, type: 'file', content: file }]);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { User: user }, rootfs: { type: 'layers', diff_ids: [sha256Digest(layer)] } }));
  const rec = await svc.storage.writeImage({
    configBytes: config,
    manifestBytes: Buffer.from(JSON.stringify({ schemaVersion: 2, config: { digest: sha256Digest(config) }, layers: [] })),
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', open: async () => Readable.from([layer]) }],
    repoTags,
    repoDigests: [],
    size: layer.length,
  });
  return rec.id;
}
