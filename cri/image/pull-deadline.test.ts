import { status as GrpcStatus } from '@grpc/grpc-js';
import { expect } from 'chai';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { silentLogger } from '../../common/logger';
import { ImageService } from '../../image/image-service';
import { EMPTY_REGISTRIES_CONFIG } from '../../image/registries-config';
import { FakeNativeBinding } from '../../native/testing/fake-native';
import { startFakeRegistry, type FakeRegistry } from '../../image/testing/fake-registry';
import { createCriClient, isServiceError, type CriClient } from '../../test/support/cri-client';
import { createCriServer, type CriServer } from '../server';
import { imageServiceHandlers } from './image-handlers';
import { waitFor } from '../../common/testing/wait-fixtures';

describe('cri/image PullImage deadline (in-process server, trickling registry)', function () {
  this.timeout(20000);
  let dir: string;
  let images: ImageService;
  let server: CriServer;
  let client: CriClient;
  let reg: FakeRegistry;
  const observed: Array<[string, string]> = [];

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'berth-pulldl-'));
    images = await ImageService.create({ dir: path.join(dir, 'images'), registries: EMPTY_REGISTRIES_CONFIG, native: new FakeNativeBinding({ nodesOnDisk: true }), logger: silentLogger });
    server = createCriServer({ handlers: imageServiceHandlers({ images }), logger: silentLogger, observer: { observe: (_s, m, code) => observed.push([m, code]) } });
    await server.listen(path.join(dir, 'cri.sock'));
    client = createCriClient(path.join(dir, 'cri.sock'));
    // 512 KiB at 16 KiB per 25 ms: about 0.8 s, well past the 300 ms deadline.
    reg = await startFakeRegistry({ repository: 'team/app', layerBytes: 512 * 1024, trickle: { bytes: 16 * 1024, everyMs: 25 } });
  });
  afterEach(async () => {
    client.close();
    await server.shutdown(500);
    await reg.close();
    await images.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers DEADLINE_EXCEEDED, closes the download and leaves no ingest file, layer dir or image record', async () => {
    let code: string | undefined;
    try {
      await client.pullImage({ image: { image: `${reg.host}/team/app:v1` } }, { timeoutMs: 300 });
    } catch (err) {
      if (!isServiceError(err)) throw err;
      code = GrpcStatus[err.code];
    }
    expect(code).to.equal('DEADLINE_EXCEEDED');
    // The server's own answer (what the metrics and logs record), once the handler has returned.
    await waitFor(() => observed.some((o) => o[0] === 'PullImage'), 'the PullImage handler to finish');
    expect(observed.find((o) => o[0] === 'PullImage')![1]).to.equal('DEADLINE_EXCEEDED');
    await waitFor(() => reg.abortedBlobSends === 1, 'the registry to see its blob connection closed');
    const store = path.join(dir, 'images');
    const left = ['blobs/ingest', 'tmp', 'layers', 'l', 'records'].flatMap((d) => readdirSync(path.join(store, d)).map((f) => `${d}/${f}`));
    expect(left).to.deep.equal([]);
    expect(images.listImages()).to.deep.equal([]);
  });
});
