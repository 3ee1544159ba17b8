/**
 * E2E: the ImageService RPCs over the real CRI gRPC server on a unix socket, backed by a real
 * ImageService pulling from a local docker-registry, driven by the CRI client.
 */
import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { status } from '@grpc/grpc-js';
import { silentLogger } from '../../common/logger';
import { createCriServer, CriServer } from '../../cri/server';
import { imageServiceHandlers } from '../../cri/image/image-handlers';
import { ImageService } from '../../image/image-service';
import { EMPTY_REGISTRIES_CONFIG } from '../../image/registries-config';
import { AddonUnpackNative } from './support/addon-unpack';
import { createCriClient, CriClient, isServiceError } from '../support/cri-client';
import { startRegistry, TestRegistry } from './support/registry';
import { busyboxImage, nonRootImage, pushImage } from './support/test-images';

describe('e2e: image RPCs over CRI', function () {
  this.timeout(60_000);
  let registry: TestRegistry;
  let tmp: string;
  let server: CriServer;
  let client: CriClient;

  before(async () => {
    const native = new AddonUnpackNative(); // first: without a usable addon nothing else starts
    registry = await startRegistry();
    await pushImage(registry.host, 'library/busybox', 'latest', await busyboxImage());
    await pushImage(registry.host, 'team/nonroot', 'v1', await nonRootImage());
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-image-cri-'));
    const images = await ImageService.create({
      dir: path.join(tmp, 'images'),
      registries: EMPTY_REGISTRIES_CONFIG,
      native,
      logger: silentLogger,
    });
    server = createCriServer({ handlers: imageServiceHandlers({ images }), logger: silentLogger });
    await server.listen(path.join(tmp, 'berth.sock'));
    client = createCriClient(path.join(tmp, 'berth.sock'));
  });
  after(async () => {
    client?.close();
    await server?.shutdown(1000);
    await registry?.stop();
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  });

  async function codeOf(p: Promise<unknown>): Promise<number | undefined> {
    try {
      await p;
      return undefined;
    } catch (err) {
      return isServiceError(err) ? err.code : -1;
    }
  }

  it('pulls, reports, lists and removes images', async () => {
    const name = `${registry.host}/library/busybox:latest`;
    expect((await client.imageStatus({ image: { image: name } })).image).to.equal(null);
    const pulled = await client.pullImage({ image: { image: name } });
    expect(pulled.imageRef).to.equal((await busyboxImage()).configDigest);
    const st = await client.imageStatus({ image: { image: name }, verbose: true });
    expect(st.image?.id).to.equal(pulled.imageRef);
    expect(st.image?.repoTags).to.deep.equal([name]);
    expect(st.image?.uid?.value).to.equal(0);
    expect(JSON.parse(st.info!['info']!).imageSpec.rootfs.diff_ids).to.have.length(1);
    const nr = await client.pullImage({ image: { image: `${registry.host}/team/nonroot:v1` } });
    const list = await client.listImages({});
    expect(list.images!.map((i) => i.id)).to.have.members([pulled.imageRef, nr.imageRef]);
    const nrImage = list.images!.find((i) => i.id === nr.imageRef)!;
    expect(nrImage.username).to.equal('www-data');
    expect(nrImage.uid).to.equal(null);
    const fsInfo = await client.imageFsInfo({});
    expect(Number(fsInfo.imageFilesystems![0]!.usedBytes!.value)).to.be.greaterThan(1_000_000);
    await client.removeImage({ image: { image: pulled.imageRef! } });
    await client.removeImage({ image: { image: pulled.imageRef! } }); // idempotent
    expect((await client.imageStatus({ image: { image: name } })).image).to.equal(null);
  });

  it('maps errors to gRPC codes', async () => {
    expect(await codeOf(client.pullImage({ image: { image: 'Not A Ref' } }))).to.equal(status.INVALID_ARGUMENT);
    expect(await codeOf(client.pullImage({ image: { image: '' } }))).to.equal(status.INVALID_ARGUMENT);
    expect(await codeOf(client.pullImage({ image: { image: `${registry.host}/library/missing:1` } }))).to.equal(status.NOT_FOUND);
  });
});
