/**
 * E2E: berthd's state is private to root. A real berthd starts on a state tree left wide open by
 * an older berth (0755/0711 dirs), pulls an image from the local test registry and runs a pod;
 * then user nobody (setpriv) tries to list and read the root, the image blobs and unpacked layers,
 * the run root, the namespace pins and the pod's /dev/shm, and to plant a file in that shm: every
 * attempt must fail with EACCES. Only the directory holding the tree is open to nobody (0755), as
 * /var/lib and /run are on a real host.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { CriClient } from '../support/cri-client';
import { sweepHost } from './support/berthd-cleanup';
import { startBerthd, type BerthdInstance } from './support/berthd';
import { startRegistry, type TestRegistry } from './support/registry';
import { busyboxImage, pushImage } from './support/test-images';

interface Probe {
  readonly op: 'readdir' | 'read' | 'write' | 'stat';
  readonly path: string;
}

/** Runs every probe as uid/gid 65534 with no supplementary groups; returns 'ok' or the errno code of each. */
function probeAsNobody(probes: readonly Probe[]): string[] {
  const script = `
    const fs = require('fs');
    const out = JSON.parse(process.argv[1]).map((p) => {
      try {
        if (p.op === 'readdir') fs.readdirSync(p.path);
        else if (p.op === 'read') fs.readFileSync(p.path);
        else if (p.op === 'write') fs.writeFileSync(p.path, 'planted');
        else fs.statSync(p.path);
        return 'ok';
      } catch (e) {
        return e.code || String(e);
      }
    });
    process.stdout.write(JSON.stringify(out));`;
  const stdout = execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', script, JSON.stringify(probes)], {
    encoding: 'utf8',
    cwd: '/',
  });
  return JSON.parse(stdout) as string[];
}

const modeOf = (p: string): string => (fs.statSync(p).mode & 0o7777).toString(8);

describe('e2e: security: berthd state is not reachable by other host users', function () {
  this.timeout(120_000);
  let registry: TestRegistry;
  let berthd: BerthdInstance | undefined;
  let client: CriClient;
  let work: string;
  let root: string;
  let runRoot: string;
  let podId = '';

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-perms-'));
    fs.chmodSync(work, 0o755);
    root = path.join(work, 'root');
    runRoot = path.join(work, 'run');
    // The tree an older berth left: root and run root 0711, the image store 0755.
    for (const [dir, mode] of [
      [root, 0o711],
      [path.join(root, 'images'), 0o755],
      [path.join(root, 'images', 'blobs'), 0o755],
      [path.join(root, 'images', 'blobs', 'sha256'), 0o755],
      [path.join(root, 'images', 'layers'), 0o755],
      [path.join(root, 'images', 'l'), 0o755],
      [path.join(root, 'images', 'records'), 0o755],
      [runRoot, 0o711],
      [path.join(runRoot, 'pods'), 0o711],
    ] as const) {
      fs.mkdirSync(dir);
      fs.chmodSync(dir, mode);
    }
    fs.mkdirSync(path.join(work, 'logs'), { mode: 0o755 });
    registry = await startRegistry();
    await pushImage(registry.host, 'library/busybox', 'latest', await busyboxImage());
    berthd = await startBerthd({ name: 'berth-perms', extraArgs: ['--root', root, '--run-root', runRoot] });
    client = berthd.client();
  });

  after(async () => {
    if (berthd) {
      await berthd.cleanup();
      await sweepHost(work, root, berthd.network);
    }
    await registry?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('pulls and runs a pod; nobody gets EACCES on root, blobs, layers, run root, pins and pod shm', async () => {
    const image = await busyboxImage();
    const pulled = await client.pullImage({ image: { image: `${registry.host}/library/busybox:latest` } });
    expect(pulled.imageRef).to.equal(image.configDigest);
    podId =
      (
        await client.runPodSandbox({
          config: { metadata: { name: 'perms', namespace: 'e2e', uid: 'uid-perms', attempt: 0 }, hostname: 'perms', logDirectory: path.join(work, 'logs'), linux: {} },
        })
      ).podSandboxId ?? '';
    expect(podId).to.match(/^[0-9a-f]{64}$/);

    const hex = (d: string): string => d.slice('sha256:'.length);
    const layerHex = hex(image.layers[0]!.diffId); // one layer: its chain ID is its DiffID
    const images = path.join(root, 'images');
    const shm = path.join(runRoot, 'pods', podId, 'shm');
    // Every path probed exists (as root sees it): a missing one would give ENOENT, not prove anything.
    const probes: Probe[] = [
      { op: 'readdir', path: root },
      { op: 'readdir', path: images },
      { op: 'readdir', path: path.join(images, 'blobs', 'sha256') },
      { op: 'read', path: path.join(images, 'blobs', 'sha256', hex(image.configDigest)) },
      { op: 'read', path: path.join(images, 'blobs', 'sha256', hex(image.manifestDigest)) },
      { op: 'readdir', path: path.join(images, 'layers') },
      { op: 'readdir', path: path.join(images, 'layers', layerHex, 'diff') },
      { op: 'read', path: path.join(images, 'layers', layerHex, 'diff', 'etc', 'passwd') },
      { op: 'readdir', path: path.join(images, 'l') },
      { op: 'readdir', path: path.join(images, 'records') },
      { op: 'readdir', path: path.join(root, 'pods') },
      { op: 'readdir', path: runRoot },
      { op: 'readdir', path: path.join(runRoot, 'pods') },
      { op: 'readdir', path: path.join(runRoot, 'ns', 'net') },
      { op: 'stat', path: path.join(runRoot, 'ns', 'net', podId) },
      { op: 'readdir', path: shm },
      { op: 'write', path: path.join(shm, 'planted') },
    ];
    for (const p of probes) expect(fs.existsSync(p.op === 'write' ? path.dirname(p.path) : p.path), `${p.path} exists`).to.equal(true);
    // The probe itself works: nobody can list the open parent directory.
    expect(probeAsNobody([{ op: 'readdir', path: work }])).to.deep.equal(['ok']);
    const results = probeAsNobody(probes);
    const table = probes.map((p, i) => `${results[i]!.padEnd(7)} ${p.op.padEnd(7)} ${path.relative(work, p.path)}`).join('\n');
    expect(results.every((r) => r === 'EACCES'), `what nobody could do:\n${table}`).to.equal(true);
    expect(fs.existsSync(path.join(shm, 'planted'))).to.equal(false);

    // The old tree was tightened at start, and that was logged once per owner (daemon, image store).
    for (const dir of [root, runRoot, path.join(runRoot, 'pods'), images, path.join(images, 'blobs'), path.join(images, 'blobs', 'sha256'), path.join(images, 'layers')]) {
      expect(modeOf(dir), dir).to.equal('700');
    }
    const logged = (msg: string): number => berthd!.logLines.filter((l) => l.includes(msg)).length;
    expect(logged('tightened state directory permissions')).to.equal(1);
    expect(logged('tightened image store permissions')).to.equal(1);

    await client.stopPodSandbox({ podSandboxId: podId });
    await client.removePodSandbox({ podSandboxId: podId });
  });
});
