import { expect } from 'chai';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { silentLogger } from '../common/logger';
import { ImagePuller } from './image-puller';
import { ImageStorage } from './image-storage';
import { parseReference } from './reference';
import { EMPTY_REGISTRIES_CONFIG } from './registries-config';
import { FakeNativeBinding } from '../native/testing/fake-native';
import { startFakeRegistry, type FakeRegistry } from './testing/fake-registry';

async function waitFor(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function outcome(p: Promise<unknown>): Promise<'ok' | unknown> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return err;
  }
}

/** A 256 KiB layer sent 8 KiB every 20 ms: about 650 ms for the whole blob. */
const TRICKLE = { layerBytes: 256 * 1024, trickle: { bytes: 8 * 1024, everyMs: 20 } };

for (const mode of ['in-process', 'worker-thread'] as const) {
  describe(`image/ pull cancellation (${mode} unpack)`, function () {
    this.timeout(20000);
    let dir: string;
    let storage: ImageStorage;
    let reg: FakeRegistry;

    beforeEach(async () => {
      dir = mkdtempSync(path.join(tmpdir(), 'berth-pullcancel-'));
      storage = new ImageStorage({
        dir,
        native: new FakeNativeBinding({ nodesOnDisk: true }),
        logger: silentLogger,
        workerMinLayerBytes: mode === 'worker-thread' ? 0 : Infinity,
      });
      await storage.init();
      reg = await startFakeRegistry({ repository: 'team/app', ...TRICKLE });
    });
    afterEach(async () => {
      await reg.close();
      await storage.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const puller = (): ImagePuller => new ImagePuller({ storage, registries: () => EMPTY_REGISTRIES_CONFIG, logger: silentLogger });
    const ref = () => parseReference(`${reg.host}/team/app:v1`);
    const leftovers = (): string[] =>
      ['blobs/ingest', 'tmp', 'layers', 'l', 'records'].flatMap((d) => readdirSync(path.join(dir, d)).map((f) => `${d}/${f}`));

    it('an aborted pull closes its download and leaves no temp file, layer dir or record', async () => {
      const started = Date.now();
      const err = await outcome(puller().pull(ref(), { signal: AbortSignal.timeout(150) }));
      const ms = Date.now() - started;
      expect(err).to.be.instanceOf(Error);
      expect((err as Error).name).to.match(/TimeoutError|AbortError/);
      expect(ms, 'answered soon after the abort').to.be.lessThan(600);
      await waitFor(() => reg.abortedBlobSends === 1, 'the registry to see its blob connection closed');
      expect(leftovers()).to.deep.equal([]);
      expect(storage.images.list()).to.deep.equal([]);
    });

    it("one caller's abort does not stop another caller's pull of the same image", async () => {
      const p = puller();
      const a = outcome(p.pull(ref(), { signal: AbortSignal.timeout(150) }));
      const b = outcome(p.pull(ref()));
      const [ra, rb] = await Promise.all([a, b]);
      expect(ra).to.be.instanceOf(Error);
      expect(rb, String(rb)).to.equal('ok');
      expect(reg.abortedBlobSends).to.equal(0);
      expect(storage.images.list().map((r) => r.id)).to.deep.equal([reg.image.configDigest]);
    });

    it('the shared download stops once every caller has gone', async () => {
      const p = puller();
      const [ra, rb] = await Promise.all([outcome(p.pull(ref(), { signal: AbortSignal.timeout(100) })), outcome(p.pull(ref(), { signal: AbortSignal.timeout(250) }))]);
      expect(ra).to.be.instanceOf(Error);
      expect(rb).to.be.instanceOf(Error);
      await waitFor(() => reg.abortedBlobSends === 1, 'the registry to see its blob connection closed');
      expect(leftovers()).to.deep.equal([]);
      expect(storage.images.list()).to.deep.equal([]);
    });
  });
}
