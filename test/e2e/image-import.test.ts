/**
 * E2E: air-gapped import of archives produced by skopeo from a local registry (oci-archive,
 * docker-archive, OCI layout dir), then the image resolves and its files are in the layer dirs.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { errorKindOf } from '../../common/errors';
import { silentLogger } from '../../common/logger';
import { ImageService } from '../../image/image-service';
import { EMPTY_REGISTRIES_CONFIG } from '../../image/registries-config';
import { AddonUnpackNative } from './support/addon-unpack';
import { startRegistry, TestRegistry } from './support/registry';
import { buildTar } from '../../image/testing/tarball';
import { layeredImage, pushImage, LAYERED_EXPECTATIONS } from './support/test-images';
import { rejection } from '../../common/testing/rejection-fixtures';
import { tempDirEach } from '../../common/testing/temp-dir-fixtures';

describe('e2e: image import', function () {
  this.timeout(60_000);
  let registry: TestRegistry;
  let tmp: string;
  let native: AddonUnpackNative;

  before(async () => {
    native = new AddonUnpackNative(); // first: without a usable addon nothing else starts
    registry = await startRegistry();
    await pushImage(registry.host, 'test/layered', 'v1', await layeredImage());
  });
  after(async () => {
    await registry?.stop();
  });
  tempDirEach('berth-import-e2e-', (d) => (tmp = d));

  async function skopeo(dest: string): Promise<void> {
    execFileSync('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${registry.host}/test/layered:v1`, dest]);
  }

  async function checkImported(svc: ImageService, name: string): Promise<void> {
    const image = await layeredImage();
    const resolved = await svc.resolveImage(name);
    expect(resolved?.id).to.equal(image.configDigest);
    expect(resolved!.lowerDirs).to.have.length(3);
    expect(await fs.readFile(path.join(resolved!.lowerDirs[0]!, 'data/keep/new'), 'utf8')).to.equal(LAYERED_EXPECTATIONS['data/keep/new']);
    expect((await fs.lstat(path.join(resolved!.lowerDirs[0]!, 'data/a'))).isCharacterDevice()).to.equal(true);
  }

  it('imports an oci-archive with its name', async () => {
    const svc = await ImageService.create({ dir: path.join(tmp, 'images'), registries: EMPTY_REGISTRIES_CONFIG, native, logger: silentLogger });
    const file = path.join(tmp, 'img.oci.tar');
    await skopeo(`oci-archive:${file}:example.com/team/layered:v1`);
    const infos = await svc.importArchive(file);
    expect(infos).to.have.length(1);
    expect(infos[0]!.repoTags).to.deep.equal(['example.com/team/layered:v1']);
    await checkImported(svc, 'example.com/team/layered:v1');
    expect(await fs.readdir(path.join(tmp, 'images', 'tmp'))).to.deep.equal([]);
  });

  it('imports a docker-archive tarball with its RepoTags', async () => {
    const svc = await ImageService.create({ dir: path.join(tmp, 'images'), registries: EMPTY_REGISTRIES_CONFIG, native, logger: silentLogger });
    const file = path.join(tmp, 'img.docker.tar');
    await skopeo(`docker-archive:${file}:registry.k8s.io/pause:3.9`);
    const infos = await svc.importArchive(file);
    expect(infos[0]!.repoTags).to.deep.equal(['registry.k8s.io/pause:3.9']);
    await checkImported(svc, 'registry.k8s.io/pause:3.9');
  });

  it('imports an OCI layout directory tagged only with a tag, using the given name', async () => {
    const svc = await ImageService.create({ dir: path.join(tmp, 'images'), registries: EMPTY_REGISTRIES_CONFIG, native, logger: silentLogger });
    const dir = path.join(tmp, 'layout');
    await skopeo(`oci:${dir}:v2`);
    const infos = await svc.importArchive(dir, 'quay.io/me/layered');
    expect(infos[0]!.repoTags).to.deep.equal(['quay.io/me/layered:v2']);
    await checkImported(svc, 'quay.io/me/layered:v2');
  });

  it('refuses a truncated archive and an archive with a .. entry', async () => {
    const svc = await ImageService.create({ dir: path.join(tmp, 'images'), registries: EMPTY_REGISTRIES_CONFIG, native, logger: silentLogger });
    const file = path.join(tmp, 'img.docker.tar');
    await skopeo(`docker-archive:${file}:x.io/y:z`);
    const data = await fs.readFile(file);
    await fs.writeFile(file, data.subarray(0, Math.floor(data.length / 2) + 100));
    let caught = await rejection(svc.importArchive(file));
    expect(errorKindOf(caught)).to.equal('InvalidArgument');
    const evil = path.join(tmp, 'evil.tar');
    await fs.writeFile(evil, await buildTar([{ name: '../escape', content: 'x' }]));
    caught = await rejection(svc.importArchive(evil));
    expect(caught).to.be.instanceOf(Error);
    const exists = (p: string): Promise<boolean> => fs.access(p).then(() => true, () => false);
    expect(await exists(path.join(tmp, 'images', 'tmp', 'escape'))).to.equal(false);
    expect(await exists(path.join(tmp, 'images', 'escape'))).to.equal(false);
    expect(svc.listImages()).to.deep.equal([]);
  });

  it('refuses a file that is neither format', async () => {
    const svc = await ImageService.create({ dir: path.join(tmp, 'images'), registries: EMPTY_REGISTRIES_CONFIG, native, logger: silentLogger });
    const file = path.join(tmp, 'junk.tar');
    execFileSync('tar', ['-cf', file, '-C', os.tmpdir(), '--files-from', '/dev/null']);
    const caught = await rejection(svc.importArchive(file));
    expect(errorKindOf(caught)).to.equal('InvalidArgument');
  });
});
