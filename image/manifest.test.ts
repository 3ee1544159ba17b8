import { expect } from 'chai';
import { FailedPreconditionError, InvalidArgumentError } from '../common/errors';
import { parseImageConfig } from './image-config';
import { ImageIndex, ImageManifest, layerCompression, MAX_INDEX_ENTRIES, MAX_LAYERS, MEDIA, parseManifest, selectPlatformManifest } from './manifest';

const dg = (c: string): string => 'sha256:' + c.repeat(64);

function index(entries: Array<{ arch: string; variant?: string; os?: string; c: string }>): ImageIndex {
  const doc = {
    schemaVersion: 2,
    mediaType: MEDIA.ociIndex,
    manifests: entries.map((e) => ({
      mediaType: MEDIA.ociManifest,
      digest: dg(e.c),
      size: 100,
      platform: { os: e.os ?? 'linux', architecture: e.arch, ...(e.variant ? { variant: e.variant } : {}) },
    })),
  };
  return parseManifest(Buffer.from(JSON.stringify(doc))) as ImageIndex;
}

describe('image/manifest', () => {
  it('parses OCI and Docker manifests and indexes', () => {
    const m = parseManifest(
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MEDIA.dockerManifest,
          config: { mediaType: MEDIA.dockerConfig, digest: dg('a'), size: 10 },
          layers: [{ mediaType: MEDIA.dockerLayerGzip, digest: dg('b'), size: 20 }],
        }),
      ),
    );
    expect(m.kind).to.equal('manifest');
    const noType = parseManifest(Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [] })), MEDIA.dockerList);
    expect(noType.kind).to.equal('index');
  });

  it('refuses schema 1 clearly and rejects malformed descriptors', () => {
    expect(() => parseManifest(Buffer.from('{"schemaVersion":1,"fsLayers":[]}'))).to.throw(FailedPreconditionError, /schema 1/);
    expect(() => parseManifest(Buffer.from('{}'), MEDIA.dockerSchema1Signed)).to.throw(FailedPreconditionError, /schema 1/);
    expect(() =>
      parseManifest(Buffer.from(JSON.stringify({ mediaType: MEDIA.ociManifest, config: { mediaType: 'x', digest: 'sha256:zz', size: 1 }, layers: [] }))),
    ).to.throw(InvalidArgumentError, /config: bad digest/);
    expect(() => parseManifest(Buffer.from('nope'))).to.throw(InvalidArgumentError);
  });

  it('selects linux/amd64 and honours variants', () => {
    const idx = index([
      { arch: 'arm', variant: 'v7', c: '1' },
      { arch: 'arm64', variant: 'v8', c: '2' },
      { arch: 'amd64', os: 'windows', c: '3' },
      { arch: 'amd64', c: '4' },
    ]);
    expect(selectPlatformManifest(idx, { os: 'linux', architecture: 'amd64' }).digest).to.equal(dg('4'));
    expect(selectPlatformManifest(idx, { os: 'linux', architecture: 'arm64' }).digest).to.equal(dg('2'));
    expect(selectPlatformManifest(idx, { os: 'linux', architecture: 'arm', variant: 'v7' }).digest).to.equal(dg('1'));
    expect(() => selectPlatformManifest(idx, { os: 'linux', architecture: 'arm', variant: 'v6' })).to.throw(FailedPreconditionError, /linux\/arm\/v6/);
    expect(() => selectPlatformManifest(index([{ arch: 's390x', c: '5' }]), { os: 'linux', architecture: 'amd64' })).to.throw(
      FailedPreconditionError,
      /offers: linux\/s390x/,
    );
  });

  it('bounds layers and index entries; ignores non-string platform fields', () => {
    const layer = { mediaType: MEDIA.ociLayerGzip, digest: dg('b'), size: 1 };
    const manifest = (n: number) => Buffer.from(JSON.stringify({ mediaType: MEDIA.ociManifest, config: layer, layers: Array(n).fill(layer) }));
    expect((parseManifest(manifest(MAX_LAYERS)) as ImageManifest).layers).to.have.length(MAX_LAYERS);
    expect(() => parseManifest(manifest(MAX_LAYERS + 1))).to.throw(InvalidArgumentError, /501 layers/);
    const entry = { mediaType: MEDIA.ociManifest, digest: dg('c'), size: 1, platform: { os: { toString: 1 }, architecture: 'amd64' } };
    const idx = parseManifest(Buffer.from(JSON.stringify({ mediaType: MEDIA.ociIndex, manifests: [entry] }))) as ImageIndex;
    expect(idx.manifests[0]!.platform).to.deep.equal({ os: '', architecture: 'amd64', variant: undefined });
    const big = Buffer.from(JSON.stringify({ mediaType: MEDIA.ociIndex, manifests: Array(MAX_INDEX_ENTRIES + 1).fill(entry) }));
    expect(() => parseManifest(big)).to.throw(InvalidArgumentError, /over the limit/);
  });

  it('type-checks the image config fields berth reads (null is absent)', () => {
    const cfg = (config: unknown, extra: Record<string, unknown> = {}) => Buffer.from(JSON.stringify({ rootfs: { diff_ids: [dg('d')] }, config, ...extra }));
    expect(parseImageConfig(cfg({ User: '33', Env: ['A=1'], Cmd: null, Labels: null, Extra: 1 })).config).to.deep.equal({ User: '33', Env: ['A=1'] });
    expect(() => parseImageConfig(cfg({ User: 5 }))).to.throw(InvalidArgumentError, /config\.User must be a string/);
    expect(() => parseImageConfig(cfg({ Env: { A: '1' } }))).to.throw(InvalidArgumentError, /config\.Env/);
    expect(() => parseImageConfig(cfg({ Cmd: 'sh' }))).to.throw(InvalidArgumentError, /config\.Cmd/);
    expect(() => parseImageConfig(cfg({ Labels: { a: 1 } }))).to.throw(InvalidArgumentError, /config\.Labels/);
    expect(() => parseImageConfig(cfg([]))).to.throw(InvalidArgumentError, /config must be an object/);
    expect(() => parseImageConfig(Buffer.from('null'))).to.throw(InvalidArgumentError, /not a JSON object/);
    expect(parseImageConfig(cfg({}, { os: { toString: 1 } })).os).to.equal('');
  });

  it('knows layer compressions', () => {
    expect(layerCompression(MEDIA.dockerLayerGzip)).to.equal('gzip');
    expect(layerCompression(MEDIA.ociLayerZstd)).to.equal('zstd');
    expect(layerCompression(MEDIA.ociLayerTar)).to.equal('none');
    expect(() => layerCompression('application/x-foo')).to.throw(FailedPreconditionError);
  });
});
