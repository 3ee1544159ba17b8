/**
 * E2E: `berthd images import FILE` as an admin runs it on an air-gapped node: import a
 * docker-archive into a stopped node's root, start berthd on that root, and the image is served
 * and runs; while berthd serves the socket the import refuses.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { mountsUnder } from './support/berthd-cleanup';
import { runBerthd, startBerthd, type BerthdInstance } from './support/berthd';
import { startRegistry, type TestRegistry } from './support/registry';
import { busyboxImage, pushImage } from './support/test-images';

describe('e2e: berthd images import', function () {
  this.timeout(90_000);
  let registry: TestRegistry;
  let work: string;
  let archive: string;
  let berthd: BerthdInstance | undefined;

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-import-cmd-'));
    registry = await startRegistry();
    await pushImage(registry.host, 'library/busybox', 'latest', await busyboxImage());
    archive = path.join(work, 'busybox.tar');
    execFileSync('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${registry.host}/library/busybox:latest`, `docker-archive:${archive}:example.com/tools/busybox:1.0`]);
    await registry.stop();
  });

  after(async () => {
    await berthd?.cleanup();
    await registry?.stop();
    for (const m of work ? mountsUnder(work) : []) execFileSync('umount', ['-l', m]);
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  const rootFlags = () => ['--root', path.join(work, 'root'), '--run-root', path.join(work, 'run')];

  it('imports into a stopped node`s store; berthd then serves and runs the image', async () => {
    const imported = await runBerthd(['images', 'import', archive, ...rootFlags(), '--listen', path.join(work, 'not-served.sock')]);
    expect(imported.stderr).to.equal('');
    expect(imported.code).to.equal(0);
    expect(imported.stdout).to.match(/^imported sha256:[0-9a-f]{64} example\.com\/tools\/busybox:1\.0/);

    berthd = await startBerthd({ name: 'berth-import', extraArgs: rootFlags() });
    const client = berthd.client();
    const status = await client.imageStatus({ image: { image: 'example.com/tools/busybox:1.0' } });
    expect(status.image?.repoTags).to.deep.equal(['example.com/tools/busybox:1.0']);

    const pod = { metadata: { name: 'imported', namespace: 'e2e', uid: 'uid-imported', attempt: 0 }, logDirectory: path.join(work, 'logs'), linux: {} };
    const { podSandboxId } = await client.runPodSandbox({ config: pod });
    const { containerId } = await client.createContainer({
      podSandboxId,
      config: { metadata: { name: 'c', attempt: 0 }, image: { image: 'example.com/tools/busybox:1.0' }, command: ['sleep', '60'], logPath: 'c.log' },
      sandboxConfig: pod,
    });
    await client.startContainer({ containerId });
    const r = await client.execSync({ containerId, cmd: ['busybox', 'echo', 'imported image runs'], timeout: 10 });
    expect(Buffer.from(r.stdout ?? []).toString()).to.equal('imported image runs\n');
  });

  it('refuses while berthd serves the socket, naming it', async () => {
    if (!berthd) throw new Error('the previous test did not start berthd');
    const refused = await runBerthd(['images', 'import', archive, ...rootFlags(), '--listen', berthd.socketPath]);
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.contain(`a berthd is serving ${berthd.socketPath}`);
  });

  it('names the file when it cannot be read', async () => {
    const missing = await runBerthd(['images', 'import', path.join(work, 'nope.tar'), '--root', path.join(work, 'root2'), '--listen', path.join(work, 'none.sock')]);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.contain('nope.tar');
  });
});
