/**
 * E2E: berth's ImageService against real docker-registry instances on 127.0.0.1 with images built
 * from busybox-static: plain, Basic auth, Bearer token, mirrors, multi-arch, whiteouts through a
 * real overlay mount, concurrent pulls, a corrupted blob. Needs root (overlay mount, mknod).
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeError, errorKindOf } from '../../common/errors';
import { silentLogger } from '../../common/logger';
import { ImageService } from '../../image/image-service';
import { parseRegistriesConfig, EMPTY_REGISTRIES_CONFIG, RegistriesConfig } from '../../image/registries-config';
import { AddonUnpackNative } from './support/addon-unpack';
import { startRegistry, startTokenAuthRegistry, registryBlobPath, freePort, makeTestCertificates, TestRegistry } from './support/registry';
import {
  busyboxImage,
  layeredImage,
  nonRootImage,
  bigImage,
  zstdImage,
  foreignArchImage,
  pushImage,
  pushIndex,
  LAYERED_EXPECTATIONS,
  buildImage,
  busyboxLayerEntries,
} from './support/test-images';
import { rejection } from '../../common/testing/rejection-fixtures';
import { tempDirEach } from '../../common/testing/temp-dir-fixtures';

describe('e2e: image pull', function () {
  this.timeout(60_000);
  let registry: TestRegistry;
  let tmp: string;
  const services: ImageService[] = [];
  let native: AddonUnpackNative;

  async function newService(registries: RegistriesConfig = EMPTY_REGISTRIES_CONFIG, dir = path.join(tmp, 'images')): Promise<ImageService> {
    const svc = await ImageService.create({ dir, registries, native, logger: silentLogger });
    services.push(svc);
    return svc;
  }

  before(async () => {
    native = new AddonUnpackNative(); // first: without a usable addon nothing else starts
    registry = await startRegistry();
    await pushImage(registry.host, 'library/busybox', 'latest', await busyboxImage());
    await pushImage(registry.host, 'library/busybox', 'other', await busyboxImage());
  });
  after(async () => {
    await registry?.stop();
  });
  tempDirEach('berth-image-e2e-', (d) => (tmp = d));

  it('pulls busybox, reports it and resolves it to layer dirs', async () => {
    const svc = await newService();
    const image = await busyboxImage();
    const name = `${registry.host}/library/busybox:latest`;
    const info = await svc.pullImage(name);
    expect(info.id).to.equal(image.configDigest);
    expect(info.repoTags).to.deep.equal([name]);
    expect(info.repoDigests).to.deep.equal([`${registry.host}/library/busybox@${image.manifestDigest}`]);
    expect(info.uid).to.equal(0);
    expect(info.size).to.equal(image.config.length + image.layers[0]!.size);
    expect(svc.imageStatus(name)?.id).to.equal(info.id);
    expect(svc.imageStatus(info.id)?.id).to.equal(info.id);
    expect(svc.imageStatus(info.repoDigests[0]!)?.id).to.equal(info.id);
    expect(svc.imageStatus(`${registry.host}/library/busybox:nope`)).to.equal(undefined);
    expect(svc.listImages().map((i) => i.id)).to.deep.equal([info.id]);
    const resolved = await svc.resolveImage(name);
    expect(resolved?.lowerDirs).to.have.length(1);
    const bb = await fs.stat(path.join(resolved!.lowerDirs[0]!, 'bin/busybox'));
    expect(bb.size).to.be.greaterThan(1_000_000);
    expect(await fs.readlink(path.join(resolved!.lowerDirs[0]!, 'bin/sh'))).to.equal('busybox');
    expect(resolved!.config.Cmd).to.deep.equal(['/bin/sh']);
    // A second tag of the same image shares everything.
    await svc.pullImage(`${registry.host}/library/busybox:other`);
    expect(svc.listImages()).to.have.length(1);
    expect(svc.imageStatus(name)?.repoTags).to.have.members([name, `${registry.host}/library/busybox:other`]);
    const fsInfo = await svc.imageFsInfo();
    expect(fsInfo.usedBytes).to.be.greaterThan(1_000_000);
    expect(fsInfo.inodesUsed).to.be.greaterThan(200);
  });

  it('reloads images after a restart and removes by tag, then by id, freeing layers', async () => {
    const dir = path.join(tmp, 'images');
    const svc = await newService(EMPTY_REGISTRIES_CONFIG, dir);
    const a = `${registry.host}/library/busybox:latest`;
    const b = `${registry.host}/library/busybox:other`;
    const info = await svc.pullImage(a);
    await svc.pullImage(b);
    const again = await newService(EMPTY_REGISTRIES_CONFIG, dir);
    expect(again.imageStatus(a)?.id).to.equal(info.id);
    await again.removeImage(a);
    expect(again.imageStatus(a)).to.equal(undefined);
    expect(again.imageStatus(b)?.id).to.equal(info.id);
    await again.removeImage(info.id);
    expect(again.listImages()).to.deep.equal([]);
    expect(await fs.readdir(path.join(dir, 'layers'))).to.deep.equal([]);
    expect(await fs.readdir(path.join(dir, 'l'))).to.deep.equal([]);
    expect(await fs.readdir(path.join(dir, 'blobs', 'sha256'))).to.deep.equal([]);
    await again.removeImage(info.id); // idempotent
  });

  it('applies whiteouts and opaque dirs: a real overlay mount shows the right files', async () => {
    await pushImage(registry.host, 'test/layered', 'v1', await layeredImage());
    const svc = await newService();
    const name = `${registry.host}/test/layered:v1`;
    await svc.pullImage(name);
    const resolved = (await svc.resolveImage(name))!;
    expect(resolved.lowerDirs).to.have.length(3);
    const top = resolved.lowerDirs[0]!;
    const wh = await fs.lstat(path.join(top, 'data/a'));
    expect(wh.isCharacterDevice()).to.equal(true);
    expect(wh.rdev).to.equal(0);
    // The whiteout device and the opaque xattr were made by the addon (the overlay below proves
    // the kernel honours them): nothing else can stand in for it.
    await fs.access(native.addonFile);
    // Layers are unpacked into <store>/tmp/<id>/diff and then renamed: compare the part under diff/.
    const byAddon = native.calls.map((c) => `${c.op} ${c.path.slice(c.path.lastIndexOf('/diff/') + 6)} ${c.detail}`);
    expect(byAddon).to.include(`mknod data/a ${0o20000}`);
    expect(byAddon).to.include('lsetxattr data/keep trusted.overlay.opaque');
    const mnt = path.join(tmp, 'mnt');
    await fs.mkdir(mnt);
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${resolved.lowerDirs.join(':')}`, mnt]);
    try {
      for (const [rel, want] of Object.entries(LAYERED_EXPECTATIONS)) {
        const got = await fs.readFile(path.join(mnt, rel), 'utf8').catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? null : Promise.reject(e)));
        expect(got, rel).to.equal(want);
      }
      expect((await fs.stat(path.join(mnt, 'bin/busybox'))).mode & 0o111).to.not.equal(0);
    } finally {
      execFileSync('umount', [mnt]);
    }
  });

  it('mounts an image with 120 layers under a store path as long as the default root', async () => {
    const layers = Array.from({ length: 120 }, (_, i) => [{ name: `layer-${i}`, content: `${i}\n` }]);
    await pushImage(registry.host, 'test/many', 'v1', await buildImage({ layers }));
    // Same length as /var/lib/berth/images, the default store.
    const storeDir = await fs.mkdtemp('/tmp/berth-lwr-');
    expect(storeDir.length).to.equal('/var/lib/berth/images'.length);
    const mnt = path.join(tmp, 'mnt');
    try {
      const svc = await newService(EMPTY_REGISTRIES_CONFIG, storeDir);
      await svc.pullImage(`${registry.host}/test/many:v1`);
      const resolved = (await svc.resolveImage(`${registry.host}/test/many:v1`))!;
      expect(resolved.lowerDirs).to.have.length(120);
      const upper = path.join(tmp, 'upper');
      const work = path.join(tmp, 'work');
      await Promise.all([fs.mkdir(mnt), fs.mkdir(upper), fs.mkdir(work)]);
      const data = `lowerdir=${resolved.lowerDirs.join(':')},upperdir=${upper},workdir=${work}`;
      expect(data.length).to.be.lessThan(4096);
      execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', data, mnt]);
      try {
        expect(await fs.readFile(path.join(mnt, 'layer-0'), 'utf8')).to.equal('0\n');
        expect(await fs.readFile(path.join(mnt, 'layer-119'), 'utf8')).to.equal('119\n');
      } finally {
        execFileSync('umount', [mnt]);
      }
    } finally {
      await fs.rm(storeDir, { recursive: true, force: true });
    }
  });

  it('reports the USER of a non-root image', async () => {
    await pushImage(registry.host, 'test/nonroot', 'v1', await nonRootImage());
    const svc = await newService();
    const info = await svc.pullImage(`${registry.host}/test/nonroot:v1`);
    expect(info.username).to.equal('www-data');
    expect(info.uid).to.equal(undefined);
    const resolved = await svc.resolveImage(`${registry.host}/test/nonroot:v1`);
    expect(resolved?.config.User).to.equal('www-data');
    expect(resolved?.config.WorkingDir).to.equal('/tmp');
    const varWww = await fs.stat(path.join(resolved!.lowerDirs[0]!, 'var/www'));
    // e2e runs as root (CI does): the layer's owners are kept.
    expect(process.getuid?.(), 'e2e tests run as root').to.equal(0);
    expect(varWww.uid).to.equal(33);
  });

  it('picks linux/amd64 from a multi-arch index and records the index digest', async () => {
    const amd64 = await busyboxImage();
    const indexDigest = await pushIndex(registry.host, 'test/multi', 'v1', [
      { image: await foreignArchImage('arm64', 'v8'), architecture: 'arm64', variant: 'v8' },
      { image: amd64, architecture: 'amd64' },
      { image: await foreignArchImage('s390x'), architecture: 's390x' },
    ]);
    const svc = await newService();
    const info = await svc.pullImage(`${registry.host}/test/multi:v1`);
    expect(info.id).to.equal(amd64.configDigest);
    expect(info.repoDigests).to.deep.equal([`${registry.host}/test/multi@${indexDigest}`]);
    // Pull by digest gives the same image.
    const byDigest = await svc.pullImage(`${registry.host}/test/multi@${indexDigest}`);
    expect(byDigest.id).to.equal(amd64.configDigest);
  });

  it('pulls Docker schema 2 images through a Docker manifest list', async () => {
    const dockerAmd64 = await buildImage({ layers: [busyboxLayerEntries()], format: 'docker', config: { User: '65534' } });
    const dockerArm = await buildImage({ layers: [[{ name: 'arm', content: 'arm\n' }]], format: 'docker', architecture: 'arm64' });
    await pushIndex(registry.host, 'test/dockerlist', 'v1', [
      { image: dockerArm, architecture: 'arm64', variant: 'v8' },
      { image: dockerAmd64, architecture: 'amd64' },
    ]);
    const svc = await newService();
    const info = await svc.pullImage(`${registry.host}/test/dockerlist:v1`);
    expect(info.id).to.equal(dockerAmd64.configDigest);
    expect(info.uid).to.equal(65534);
  });

  it('unpacks tar+zstd layers', async () => {
    await pushImage(registry.host, 'test/zstd', 'v1', await zstdImage());
    const svc = await newService();
    await svc.pullImage(`${registry.host}/test/zstd:v1`);
    const resolved = await svc.resolveImage(`${registry.host}/test/zstd:v1`);
    expect((await fs.stat(path.join(resolved!.lowerDirs[0]!, 'bin/busybox'))).size).to.be.greaterThan(1_000_000);
  });

  it('shares one download between concurrent pulls of the same image', async () => {
    const svc = await newService();
    const name = `${registry.host}/library/busybox:latest`;
    const results = await Promise.all(Array.from({ length: 6 }, () => svc.pullImage(name)));
    expect(new Set(results.map((r) => r.id)).size).to.equal(1);
    expect(await fs.readdir(path.join(tmp, 'images', 'layers'))).to.have.length(1);
    expect(await fs.readdir(path.join(tmp, 'images', 'l'))).to.have.length(1);
    expect(await fs.readdir(path.join(tmp, 'images', 'tmp'))).to.deep.equal([]);
  });

  it('a pull with a corrupted blob fails and leaves nothing behind', async () => {
    const bad = await buildImage({ layers: [busyboxLayerEntries(), [{ name: 'victim', content: 'x'.repeat(5000) }]] });
    await pushImage(registry.host, 'test/corrupt', 'v1', bad);
    const blobFile = registryBlobPath(registry.storageDir!, bad.layers[1]!.digest);
    const data = await fs.readFile(blobFile);
    data[data.length - 20] ^= 0xff;
    await fs.writeFile(blobFile, data);
    const svc = await newService();
    let caught = await rejection(svc.pullImage(`${registry.host}/test/corrupt:v1`));
    expect(caught).to.be.instanceOf(Error);
    expect(errorKindOf(caught)).to.equal('FailedPrecondition');
    expect(svc.listImages()).to.deep.equal([]);
    expect(await fs.readdir(path.join(tmp, 'images', 'tmp'))).to.deep.equal([]);
    expect(await fs.readdir(path.join(tmp, 'images', 'records'))).to.deep.equal([]);
    // The good busybox layer may stay until GC; it is not part of any visible image. Collect it:
    await svc.storage.collectGarbage();
    expect(await fs.readdir(path.join(tmp, 'images', 'layers'))).to.deep.equal([]);
  });

  it('a cancelled pull stops and leaves nothing behind', async () => {
    await pushImage(registry.host, 'test/big', 'v1', await bigImage(30));
    const svc = await newService();
    const ac = new AbortController();
    const pull = svc.pullImage(`${registry.host}/test/big:v1`, { signal: ac.signal });
    setTimeout(() => ac.abort(), 60);
    let caught = await rejection(pull);
    expect(caught).to.be.instanceOf(Error);
    expect(svc.listImages()).to.deep.equal([]);
    expect(await fs.readdir(path.join(tmp, 'images', 'tmp'))).to.deep.equal([]);
    expect(await fs.readdir(path.join(tmp, 'images', 'records'))).to.deep.equal([]);
  });

  it('reports pulls, failures and bytes to the metrics sink', async () => {
    const outcomes: string[] = [];
    let bytes = 0;
    const svc = await ImageService.create({
      dir: path.join(tmp, 'images'),
      registries: EMPTY_REGISTRIES_CONFIG,
      native,
      logger: silentLogger,
      metrics: { pullFinished: (o, s) => outcomes.push(`${o}:${s > 0}`), bytesPulled: (n) => (bytes += n) },
    });
    await svc.pullImage(`${registry.host}/library/busybox:latest`);
    await svc.pullImage(`${registry.host}/library/nothing:here`).catch(() => undefined);
    expect(outcomes).to.deep.equal(['success:true', 'failure:true']);
    expect(bytes).to.equal((await busyboxImage()).layers[0]!.size);
  });

  it('answers NotFound for a missing image and Unavailable for a dead registry', async () => {
    const svc = await newService();
    let caught = await rejection(svc.pullImage(`${registry.host}/library/nothing:here`));
    expect(errorKindOf(caught)).to.equal('NotFound');
    const deadPort = await freePort();
    caught = await rejection(svc.pullImage(`127.0.0.1:${deadPort}/library/busybox:latest`));
    expect(errorKindOf(caught)).to.equal('Unavailable');
  });

  it('pulls registry.k8s.io/pause:3.9 through a mirror and keeps the name', async () => {
    await pushImage(registry.host, 'pause', '3.9', await busyboxImage());
    const deadPort = await freePort();
    const config = parseRegistriesConfig(`
      [[registry]]
      prefix = "registry.k8s.io"
      location = "registry.k8s.io"
      [[registry.mirror]]
      location = "127.0.0.1:${deadPort}"
      insecure = true
      [[registry.mirror]]
      location = "${registry.host}"
      insecure = true
    `);
    const svc = await newService(config);
    const info = await svc.pullImage('registry.k8s.io/pause:3.9');
    expect(info.repoTags).to.deep.equal(['registry.k8s.io/pause:3.9']);
    expect(info.repoDigests[0]).to.match(/^registry\.k8s\.io\/pause@sha256:/);
    expect(svc.imageStatus('registry.k8s.io/pause:3.9')?.id).to.equal(info.id);
  });

  it('resolves short names through unqualified-search-registries', async () => {
    // Outside docker.io a short name is not put under library/.
    await pushImage(registry.host, 'busybox', 'latest', await busyboxImage());
    const config = parseRegistriesConfig(`unqualified-search-registries = ["${registry.host}"]`);
    const svc = await newService(config);
    const info = await svc.pullImage('busybox');
    expect(info.repoTags).to.deep.equal([`${registry.host}/busybox:latest`]);
    expect(svc.imageStatus('busybox')?.id).to.equal(info.id);
  });

  describe('over HTTPS', () => {
    let tlsReg: TestRegistry;
    let certDir: string;
    let caFile: string;
    before(async () => {
      certDir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-certs-'));
      const certs = await makeTestCertificates(certDir);
      caFile = certs.caFile;
      tlsReg = await startRegistry({ tls: certs, sharedStorageDir: registry.storageDir });
    });
    after(async () => {
      await tlsReg?.stop();
      if (certDir) await fs.rm(certDir, { recursive: true, force: true });
    });

    it('trusts a CA from certs.d/<host>/ and refuses an unknown one', async () => {
      const name = `${tlsReg.host}/library/busybox:latest`;
      const untrusting = await ImageService.create({
        dir: path.join(tmp, 'a'),
        registries: EMPTY_REGISTRIES_CONFIG,
        native,
        logger: silentLogger,
        certsDir: path.join(tmp, 'no-certs'),
      });
      const caught = await rejection(untrusting.pullImage(name));
      expect(caught, 'a pull with an unknown CA must fail').to.be.instanceOf(Error);
      expect(describeError(caught)).to.match(/certificate/i);
      const certsDir = path.join(tmp, 'certs.d');
      await fs.mkdir(path.join(certsDir, tlsReg.host), { recursive: true });
      await fs.copyFile(caFile, path.join(certsDir, tlsReg.host, 'ca.crt'));
      const trusting = await ImageService.create({ dir: path.join(tmp, 'b'), registries: EMPTY_REGISTRIES_CONFIG, native, logger: silentLogger, certsDir });
      const info = await trusting.pullImage(name);
      expect(info.id).to.equal((await busyboxImage()).configDigest);
    });
  });

  describe('with Basic auth', () => {
    let basic: TestRegistry;
    const creds = { username: 'berth', password: 's3cret!' };
    before(async () => {
      basic = await startRegistry({ basicAuth: creds });
      await pushImage(basic.host, 'private/busybox', 'v1', await busyboxImage(), creds);
    });
    after(async () => {
      await basic?.stop();
    });

    it('refuses without credentials and pulls with username/password or auth', async () => {
      const svc = await newService();
      const name = `${basic.host}/private/busybox:v1`;
      const caught = await rejection(svc.pullImage(name));
      expect(errorKindOf(caught)).to.equal('FailedPrecondition');
      expect(String((caught as Error).message)).to.not.include(creds.password);
      const info = await svc.pullImage(name, { credentials: creds });
      expect(info.id).to.equal((await busyboxImage()).configDigest);
      await svc.removeImage(info.id);
      const viaAuth = await svc.pullImage(name, { credentials: { auth: Buffer.from('berth:s3cret!').toString('base64') } });
      expect(viaAuth.id).to.equal(info.id);
    });
  });

  describe('with a Bearer token server', () => {
    let tokenReg: Awaited<ReturnType<typeof startTokenAuthRegistry>>;
    const creds = { username: 'robot', password: 'hunter2' };
    before(async () => {
      tokenReg = await startTokenAuthRegistry(creds, { refreshToken: 'refresh-me' });
      await pushImage(tokenReg.backendHost!, 'team/app', 'v1', await nonRootImage());
    });
    after(async () => {
      await tokenReg?.stop();
    });

    it('gets a token from the realm with the credentials and pulls', async () => {
      const svc = await newService();
      const info = await svc.pullImage(`${tokenReg.host}/team/app:v1`, { credentials: creds });
      expect(info.id).to.equal((await nonRootImage()).configDigest);
      expect(tokenReg.stats!.tokenRequests).to.be.greaterThan(0);
      expect(tokenReg.stats!.proxied).to.be.greaterThan(2);
      let caught: unknown;
      try {
        await (await newService(EMPTY_REGISTRIES_CONFIG, path.join(tmp, 'other'))).pullImage(`${tokenReg.host}/team/app:v1`, {
          credentials: { username: 'robot', password: 'wrong' },
        });
      } catch (err) {
        caught = err;
      }
      expect(errorKindOf(caught)).to.equal('FailedPrecondition');
    });

    it('pulls with an identity token (refresh grant) and with a registry token', async () => {
      const viaIdentity = await (await newService(EMPTY_REGISTRIES_CONFIG, path.join(tmp, 'i'))).pullImage(`${tokenReg.host}/team/app:v1`, {
        credentials: { identityToken: 'refresh-me' },
      });
      expect(viaIdentity.id).to.equal((await nonRootImage()).configDigest);
      const before = tokenReg.stats!.tokenRequests;
      const viaToken = await (await newService(EMPTY_REGISTRIES_CONFIG, path.join(tmp, 'r'))).pullImage(`${tokenReg.host}/team/app:v1`, {
        credentials: { registryToken: tokenReg.issueToken() },
      });
      expect(viaToken.id).to.equal(viaIdentity.id);
      expect(tokenReg.stats!.tokenRequests).to.equal(before);
    });
  });
});
