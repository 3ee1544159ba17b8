import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { errorKindOf } from '../common/errors';
import { silentLogger } from '../common/logger';
import { credentialsFor, ImagePuller } from './image-puller';
import { ImageStorage } from './image-storage';
import { parseReference } from './reference';
import { EMPTY_REGISTRIES_CONFIG, parseRegistriesConfig, RegistriesConfig } from './registries-config';
import { canonicalRegistryHost, type RegistryCredentials } from './registry-auth';
import { FakeNativeBinding } from '../native/testing/fake-native';
import { startFakeRegistry, startFakeTokenServer, type FakeRegistry } from './testing/fake-registry';

const USER = { username: 'alice', password: 's3cret' };
const BASIC = 'Basic ' + Buffer.from('alice:s3cret').toString('base64');

describe('image/image-puller credential scoping', function () {
  this.timeout(15000);
  let dir: string;
  let storage: ImageStorage;
  const closers: Array<() => Promise<void>> = [];

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'berth-puller-'));
    storage = new ImageStorage({ dir, native: new FakeNativeBinding({ nodesOnDisk: true }), logger: silentLogger });
    await storage.init();
  });
  afterEach(async () => {
    while (closers.length) await closers.pop()!();
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function registry(opts: Parameters<typeof startFakeRegistry>[0]): Promise<FakeRegistry> {
    const r = await startFakeRegistry(opts);
    closers.push(() => r.close());
    return r;
  }

  function puller(config: RegistriesConfig = EMPTY_REGISTRIES_CONFIG): ImagePuller {
    return new ImagePuller({ storage, registries: () => config, logger: silentLogger });
  }

  const authHeaders = (r: FakeRegistry): Array<string | undefined> => r.seen.map((s) => s.authorization);

  it('never sends the credentials to a mirror that asks for them; the named registry gets them', async () => {
    const mirror = await registry({ repository: 'team/app', basic: USER });
    const reg = await registry({ repository: 'team/app', basic: USER });
    const conf = parseRegistriesConfig(`
      [[registry]]
      prefix = "${reg.host}"
      [[registry.mirror]]
      location = "${mirror.host}"
      insecure = true
    `);
    const rec = await puller(conf).pull(parseReference(`${reg.host}/team/app:v1`), { credentials: USER });
    expect(rec.id).to.equal(reg.image.configDigest);
    expect(mirror.seen.length).to.be.greaterThan(0);
    expect(authHeaders(mirror).filter((a) => a !== undefined)).to.deep.equal([]);
    expect(authHeaders(reg)).to.include(BASIC);
  });

  it('never sends the credentials to a search registry other than the one they are for', async () => {
    const search = await registry({ repository: 'team/app', basic: USER });
    const reg = await registry({ repository: 'team/app', basic: USER });
    const conf = parseRegistriesConfig(`unqualified-search-registries = ["${search.host}", "${reg.host}"]`);
    const rec = await puller(conf).pull(parseReference('team/app:v1'), { credentials: { ...USER, serverAddress: reg.host } });
    expect(rec.id).to.equal(reg.image.configDigest);
    expect(search.seen.length).to.be.greaterThan(0);
    expect(authHeaders(search).filter((a) => a !== undefined)).to.deep.equal([]);
    expect(authHeaders(reg)).to.include(BASIC);
  });

  it('sends no Basic credentials to a plain-HTTP token realm on another host', async () => {
    const tokens = await startFakeTokenServer('tok');
    closers.push(() => tokens.close());
    const reg = await registry({ repository: 'team/app', bearerRealm: () => tokens.url, token: 'tok' });
    await puller().pull(parseReference(`${reg.host}/team/app:v1`), { credentials: USER });
    expect(tokens.seen.length).to.be.greaterThan(0);
    expect(tokens.seen.map((s) => s.authorization)).to.deep.equal(tokens.seen.map(() => undefined));
    expect(tokens.seen.every((s) => !s.path.includes('alice'))).to.equal(true);
    expect(authHeaders(reg)).to.include('Bearer tok');
  });

  it('sends no identity token to a plain-HTTP token realm on another host', async () => {
    const tokens = await startFakeTokenServer('tok');
    closers.push(() => tokens.close());
    const reg = await registry({ repository: 'team/app', bearerRealm: () => tokens.url, token: 'tok' });
    await puller().pull(parseReference(`${reg.host}/team/app:v1`), { credentials: { identityToken: 'refresh-me' } });
    expect(tokens.seen.length).to.be.greaterThan(0);
    expect(tokens.seen.every((s) => !s.path.includes('refresh-me') && !(s.body ?? '').includes('refresh-me'))).to.equal(true);
    expect(tokens.seen.every((s) => s.authorization === undefined)).to.equal(true);
  });

  it('matches server_address with a scheme, a path or a default port to the right host', async () => {
    const reg = await registry({ repository: 'team/app', basic: USER });
    const port = reg.host.split(':')[1]!;
    for (const serverAddress of [`https://127.0.0.1:${port}`, `127.0.0.1:${port}/v2/`, `http://127.0.0.1:${port}/v1/`]) {
      const svcDir = mkdtempSync(path.join(tmpdir(), 'berth-puller-sa-'));
      const s = new ImageStorage({ dir: svcDir, native: new FakeNativeBinding({ nodesOnDisk: true }), logger: silentLogger });
      await s.init();
      try {
        const p = new ImagePuller({ storage: s, registries: () => EMPTY_REGISTRIES_CONFIG, logger: silentLogger });
        const rec = await p.pull(parseReference(`${reg.host}/team/app:v1`), { credentials: { ...USER, serverAddress } });
        expect(rec.id, serverAddress).to.equal(reg.image.configDigest);
      } finally {
        await s.close();
        rmSync(svcDir, { recursive: true, force: true });
      }
    }
    // Credentials for another port of the same host are not for this registry.
    reg.seen.length = 0;
    let kind: string | undefined;
    try {
      await puller().pull(parseReference(`${reg.host}/team/app:v1`), { credentials: { ...USER, serverAddress: `127.0.0.1:1` } });
    } catch (err) {
      kind = errorKindOf(err);
    }
    expect(kind).to.equal('FailedPrecondition');
    expect(authHeaders(reg).filter((a) => a !== undefined)).to.deep.equal([]);
  });

  it('canonicalises registry addresses (scheme, path, case, default port, Docker Hub aliases)', () => {
    const rows: Array<[string, string | undefined]> = [
      ['https://reg:5000', 'reg:5000'],
      ['reg:5000/v2/', 'reg:5000'],
      ['REG.example.com', 'reg.example.com'],
      ['https://reg.example.com:443/x', 'reg.example.com'],
      ['https://index.docker.io/v1/', 'docker.io'],
      ['registry-1.docker.io', 'docker.io'],
      ['[::1]:5000', '[::1]:5000'],
      ['', undefined],
      ['https://user:pw@reg', undefined],
    ];
    for (const [address, host] of rows) expect(canonicalRegistryHost(address), address).to.equal(host);
  });

  it('credentialsFor: the reference as normalised names the registry when server_address is empty', () => {
    const creds: RegistryCredentials = { ...USER };
    const hub = parseReference('busybox');
    expect(credentialsFor({ host: 'registry-1.docker.io', repository: 'library/busybox', insecure: false, mirror: false }, hub, creds)).to.equal(creds);
    expect(credentialsFor({ host: 'quay.io', repository: 'busybox', insecure: false, mirror: false }, hub, creds)).to.equal(undefined);
    expect(credentialsFor({ host: 'registry-1.docker.io', repository: 'library/busybox', insecure: false, mirror: true }, hub, creds)).to.equal(undefined);
    const own = parseReference('reg.example.com:5000/a/b');
    expect(credentialsFor({ host: 'reg.example.com:5000', repository: 'a/b', insecure: false, mirror: false }, own, creds)).to.equal(creds);
    expect(credentialsFor({ host: 'other.example.com', repository: 'a/b', insecure: false, mirror: false }, own, creds)).to.equal(undefined);
  });
});
