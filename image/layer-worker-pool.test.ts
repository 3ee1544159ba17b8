import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { FailedPreconditionError, errnoCode, errorKindOf } from '../common/errors';
import { TarRecordTooLargeError, UnpackNative, UnpackResult, UnsafeLayerError, OPAQUE_XATTR, unpackLayer } from './layer-unpack';
import { LayerWorkerPool } from './layer-worker-pool';
import { FakeNativeBinding } from '../native/testing/fake-native';
import { buildTar, buildTarGz, oversizedRecordTar, TarEntrySpec } from './testing/tarball';
import { rejection } from '../common/testing/rejection-fixtures';
import { subdirs, tempDirEach } from '../common/testing/temp-dir-fixtures';

const run = promisify(execFile);
const sha256 = (b: Buffer): string => 'sha256:' + createHash('sha256').update(b).digest('hex');

/** Splits `data` into small chunks, as a socket would deliver it. */
function chunked(data: Buffer, size = 60_000): Readable {
  const parts: Buffer[] = [];
  for (let o = 0; o < data.length; o += size) parts.push(data.subarray(o, o + size));
  return Readable.from(parts);
}

describe('image/layer-worker-pool', function () {
  this.timeout(20_000);
  let tmp: string;
  let root: string;
  let native: FakeNativeBinding;
  let pool: LayerWorkerPool;

  // Registered first so the workers stop before the temp dir goes.
  afterEach(() => pool.stopAll());
  tempDirEach('berth-worker-', (d) => {
    tmp = d;
    [root] = subdirs(tmp, 'layer');
    native = new FakeNativeBinding({ nodesOnDisk: true });
    pool = new LayerWorkerPool({ maxWorkers: 2 });
  });

  async function unpackGz(entries: TarEntrySpec[], dir = root, digestOverride?: string): Promise<UnpackResult> {
    const blob = await buildTarGz(entries);
    return pool.unpack({
      open: async () => chunked(blob),
      job: { compression: 'gzip', root: dir, digest: digestOverride ?? sha256(blob), size: blob.length },
      native,
    });
  }

  it('unpacks a gzip layer on a worker with the DiffID of the tar', async () => {
    const big = randomBytes(3 * 1024 * 1024);
    const entries: TarEntrySpec[] = [
      { name: 'bin/', type: 'directory' },
      { name: 'bin/data', content: big, mode: 0o640 },
      { name: 'bin/sh', type: 'symlink', linkname: 'data' },
    ];
    const result = await unpackGz(entries);
    const tarBytes = await buildTar(entries);
    expect(result).to.deep.equal({ diffId: sha256(tarBytes), size: tarBytes.length, dirTimesSkipped: 0 });
    expect((await fs.readFile(path.join(root, 'bin/data'))).equals(big)).to.equal(true);
    expect((await fs.stat(path.join(root, 'bin/data'))).mode & 0o777).to.equal(0o640);
    expect(await fs.readlink(path.join(root, 'bin/sh'))).to.equal('data');
  });

  it('makes whiteouts and opaque markers through the injected native binding', async () => {
    await unpackGz([
      { name: 'd/', type: 'directory' },
      { name: 'd/.wh..wh..opq' },
      { name: 'd/.wh.gone' },
    ]);
    expect(native.calls.map((c) => [c.method, path.relative(root, String(c.args[0])), c.args[1]])).to.deep.equal([
      ['lsetxattr', 'd', OPAQUE_XATTR],
      ['mknod', 'd/gone', 0o020000],
    ]);
  });

  it('fails a layer whose native call fails exactly as in-process unpacking does', async () => {
    const refusing: UnpackNative = {
      mknod: async () => undefined,
      lsetxattr: async () => {
        throw Object.assign(new Error('lsetxattr: operation not permitted'), { code: 'EPERM' });
      },
    };
    const throwingNow: UnpackNative = {
      mknod: async () => undefined,
      lsetxattr: () => {
        throw Object.assign(new Error('lsetxattr: operation not permitted'), { code: 'EPERM' });
      },
    };
    const entries: TarEntrySpec[] = [{ name: 'd/', type: 'directory' }, { name: 'd/.wh..wh..opq' }];
    const blob = await buildTarGz(entries);
    const inProcessRoot = path.join(tmp, 'in-process');
    await fs.mkdir(inProcessRoot);
    const expected = await rejection(unpackLayer(Readable.from([blob]), 'gzip', inProcessRoot, { native: refusing }));
    for (const native of [refusing, throwingNow]) {
      const dir = await fs.mkdtemp(path.join(tmp, 'w-'));
      const err = await rejection(pool.unpack({ open: async () => chunked(blob), job: { compression: 'gzip', root: dir }, native }));
      expect(err).to.be.instanceOf(FailedPreconditionError);
      expect(err.message).to.equal(expected.message);
      expect(errnoCode(err.cause)).to.equal('EPERM');
    }
  });

  it('rejects a blob whose compressed digest does not match, as in-process verification does', async () => {
    const err = await rejection(unpackGz([{ name: 'f', content: 'x' }], root, 'sha256:' + '0'.repeat(64)));
    expect(err).to.be.instanceOf(FailedPreconditionError);
    expect(err.message).to.match(/verify blob sha256:0{64}: content has digest/);
    expect(pool.size, 'a failed worker is not kept').to.equal(0);
  });

  it('keeps the class of an unsafe-entry error', async () => {
    const err = await rejection(unpackGz([{ name: '../escape', content: 'x' }]));
    expect(err).to.be.instanceOf(UnsafeLayerError);
    expect(errorKindOf(err)).to.equal('FailedPrecondition');
    expect(err.message).to.match(/\.\./);
  });

  it('refuses an oversized PAX record on a worker with its class, the layer digest and the size', async () => {
    const blob = gzipSync(Buffer.concat([...oversizedRecordTar('x', 2 * 1024 * 1024, { bytes: 0 })]));
    const digest = sha256(blob);
    const err = await rejection(pool.unpack({ open: async () => chunked(blob), job: { compression: 'gzip', root, digest, size: blob.length }, native }));
    expect(err).to.be.instanceOf(TarRecordTooLargeError);
    expect(err.message).to.contain(digest).and.contain('2097152 bytes');
  });

  it('fails with the download error when the source breaks, after the worker has stopped', async () => {
    const blob = await buildTarGz([{ name: 'f', content: randomBytes(2 * 1024 * 1024) }]);
    const source = new PassThrough();
    const done = pool.unpack({ open: async () => source, job: { compression: 'gzip', root, digest: sha256(blob), size: blob.length }, native });
    source.write(blob.subarray(0, 700_000));
    setTimeout(() => source.destroy(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })), 50);
    const err = await rejection(done);
    expect(err).to.be.instanceOf(FailedPreconditionError);
    expect(err.message).to.equal('unpack layer: socket hang up');
    expect(pool.size).to.equal(0);
    // Nothing writes into the directory any more: it can be removed for good.
    await fs.rm(root, { recursive: true, force: true });
    await new Promise((r) => setTimeout(r, 100));
    expect(await fs.stat(root).then(() => true, () => false)).to.equal(false);
  });

  it('passes an error opening the blob through unchanged and keeps the worker it started', async () => {
    const refused = Object.assign(new Error('fetch 127.0.0.1/v2/x/blobs/y: not found'), { code: 'E404' });
    const err = await rejection(pool.unpack({ open: async () => Promise.reject(refused), job: { compression: 'gzip', root }, native }));
    expect(err).to.equal(refused);
    expect(pool.size, 'the started worker waits idle for the next layer').to.equal(1);
  });

  it('stops a busy worker on stopAll without leaking its open file', async () => {
    const fdCount = async (): Promise<number> => (await fs.readdir('/proc/self/fd')).length;
    const before = await fdCount();
    const blob = await buildTarGz([{ name: 'big', content: randomBytes(6 * 1024 * 1024) }]);
    const source = new PassThrough();
    const done = pool.unpack({ open: async () => source, job: { compression: 'gzip', root, digest: sha256(blob), size: blob.length }, native });
    source.write(blob.subarray(0, 3 * 1024 * 1024));
    // Wait until the worker is writing the file (it holds an fd for it now).
    for (let i = 0; i < 200 && !(await fs.stat(path.join(root, 'big')).then((st) => st.size > 0, () => false)); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    await pool.stopAll();
    const err = await rejection(done);
    expect(err.message).to.equal('unpack layer: the layer worker pool was stopped');
    expect(errorKindOf(err)).to.equal('Internal');
    expect(pool.size).to.equal(0);
    expect(await fdCount()).to.equal(before);
  });

  it('reuses an idle worker and never runs more than maxWorkers', async () => {
    const one = new LayerWorkerPool({ maxWorkers: 1 });
    try {
      const dirs = [path.join(tmp, 'a'), path.join(tmp, 'b'), path.join(tmp, 'c')];
      await Promise.all(dirs.map((d) => fs.mkdir(d)));
      let maxSeen = 0;
      const results = await Promise.all(
        dirs.map(async (d, i) => {
          const blob = await buildTarGz([{ name: `f${i}`, content: `content ${i}` }]);
          const r = one.unpack({ open: async () => chunked(blob), job: { compression: 'gzip', root: d, digest: sha256(blob), size: blob.length }, native });
          maxSeen = Math.max(maxSeen, one.size);
          return r;
        }),
      );
      expect(results).to.have.length(3);
      expect(maxSeen).to.equal(1);
      expect(one.size, 'the idle worker is kept').to.equal(1);
      for (const [i, d] of dirs.entries()) expect(await fs.readFile(path.join(d, `f${i}`), 'utf8')).to.equal(`content ${i}`);
    } finally {
      await one.stopAll();
    }
    expect(one.size).to.equal(0);
  });

  it('lets the process exit while a worker sits idle', async () => {
    const script = `
      const { LayerWorkerPool } = require(${JSON.stringify(path.join(__dirname, 'layer-worker-pool.js'))});
      const { buildTarGz } = require(${JSON.stringify(path.join(__dirname, 'testing', 'tarball.js'))});
      const { Readable } = require('node:stream');
      const pool = new LayerWorkerPool({ idleTimeoutMs: 60000 });
      buildTarGz([{ name: 'f', content: 'x' }]).then((blob) =>
        pool.unpack({ open: async () => Readable.from([blob]), job: { compression: 'gzip', root: ${JSON.stringify(root)} }, native: {} }),
      ).then(() => console.log('idle workers: ' + pool.size));
    `;
    // A worker that kept the process alive would make this run into the timeout and fail.
    const { stdout } = await run(process.execPath, ['-e', script], { timeout: 15_000 });
    expect(stdout.trim()).to.equal('idle workers: 1');
    expect(await fs.readFile(path.join(root, 'f'), 'utf8')).to.equal('x');
  });
});
