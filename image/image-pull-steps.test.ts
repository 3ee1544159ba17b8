import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { silentLogger } from '../common/logger';
import { ImagePuller } from './image-puller';
import { ImageStorage } from './image-storage';
import { parseReference } from './reference';
import { EMPTY_REGISTRIES_CONFIG, parseRegistriesConfig } from './registries-config';
import { FakeNativeBinding } from '../native/testing/fake-native';
import { startFakeRegistry, type FakeRegistry } from './testing/fake-registry';

describe('image/image-puller step reports (onStep)', function () {
  this.timeout(15000);
  let dir: string;
  let storage: ImageStorage;
  const registries: FakeRegistry[] = [];

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'berth-pull-steps-'));
    storage = new ImageStorage({ dir, native: new FakeNativeBinding({ nodesOnDisk: true }), logger: silentLogger });
    await storage.init();
  });
  afterEach(async () => {
    while (registries.length) await registries.pop()!.close();
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports the manifest fetch and each layer it downloads; a layer already stored is not reported', async () => {
    const reg = await startFakeRegistry({ repository: 'team/app', layerBytes: 64 * 1024 });
    registries.push(reg);
    const puller = new ImagePuller({ storage, registries: () => EMPTY_REGISTRIES_CONFIG, logger: silentLogger });
    const steps: Array<[string, boolean, string | undefined]> = [];
    const seconds: number[] = [];
    const onStep = (step: string, s: number, ok: boolean, digest?: string): void => {
      steps.push([step, ok, digest]);
      seconds.push(s);
    };
    await puller.pull(parseReference(`${reg.host}/team/app:v1`), { onStep });
    expect(steps).to.deep.equal([
      ['manifest fetch', true, undefined],
      ['layer', true, reg.image.layerDigest],
    ]);
    expect(seconds.every((s) => s >= 0 && s < 10)).to.equal(true);
    steps.length = 0;
    await puller.pull(parseReference(`${reg.host}/team/app:v2`), { onStep });
    expect(steps).to.deep.equal([['manifest fetch', true, undefined]]);
  });

  it('reports a failed manifest fetch on a mirror before the registry that serves the image', async () => {
    const reg = await startFakeRegistry({ repository: 'team/app' });
    const mirror = await startFakeRegistry({ repository: 'other/repo' });
    registries.push(reg, mirror);
    const conf = parseRegistriesConfig(`
      [[registry]]
      prefix = "${reg.host}"
      insecure = true
      [[registry.mirror]]
      location = "${mirror.host}"
      insecure = true
    `);
    const steps: Array<[string, boolean]> = [];
    await new ImagePuller({ storage, registries: () => conf, logger: silentLogger }).pull(parseReference(`${reg.host}/team/app:v1`), { onStep: (step, _s, ok) => steps.push([step, ok]) });
    expect(steps).to.deep.equal([
      ['manifest fetch', false],
      ['manifest fetch', true],
      ['layer', true],
    ]);
  });
});
