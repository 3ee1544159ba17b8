import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { FailedPreconditionError, RuntimeError, UnimplementedError } from '../common/errors';
import { fakeNativeError, FakeNativeBinding, type FakeSeqpacketPeer } from '../native/testing/fake-native';
import { ATTACH_STDIN_CHUNK, attachSocketPath, resizeMessage, runAttachSession } from './attach';
import { CONTAINER_RECORD_VERSION, type ContainerRecord } from './container-record';
import { runExecSession } from './exec-session';
import { RuncDriver } from './oci-driver/runc-driver';

function record(patch: Partial<ContainerRecord> = {}): ContainerRecord {
  return {
    version: CONTAINER_RECORD_VERSION, id: 'c1', podSandboxId: 'p1', name: 'c', attempt: 0, reservedName: 'k8s_c', image: { requested: 'i', id: 'i', ref: 'i' },
    runtimeHandler: '', state: 'running', createdAtNs: 0, startedAtNs: 0, finishedAtNs: 0, exitCode: 0, reason: '', message: '', pid: 10, logPath: '',
    labels: {}, annotations: {}, mounts: [], user: { uid: 0, gid: 0, supplementalGroups: [] }, stopSignal: 'SIGTERM', tty: false, stdin: true, stdinOnce: true,
    paths: { dir: '/x', bundle: '/x/bundle', rootfs: '/x/bundle/rootfs' }, rootfsMounted: false, cgroupsPath: '',
    ...patch,
  };
}

/** A Writable collecting what it gets; `full` makes write() report backpressure. */
class Sink extends Writable {
  readonly chunks: Buffer[] = [];
  full = false;
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.chunks.push(chunk);
    if (this.full) setTimeout(done, 20);
    else done();
  }
  text(): string {
    return Buffer.concat(this.chunks).toString();
  }
}

async function peerOf(native: FakeNativeBinding): Promise<FakeSeqpacketPeer> {
  for (let i = 0; i < 100 && native.seqpacketPeers.length === 0; i++) await new Promise((r) => setImmediate(r));
  const peer = native.seqpacketPeers[0];
  if (!peer) throw new Error('no connection was made');
  return peer;
}

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('runtime/attach (conmon attach socket protocol, fake native)', () => {
  it('connects to <bundle>/attach and routes packets by stream id (2 stdout, 3 stderr; others dropped)', async () => {
    const native = new FakeNativeBinding();
    const stdout = new Sink();
    const stderr = new Sink();
    const session = runAttachSession(record(), { stdout, stderr, tty: false }, new AbortController().signal, native);
    const peer = await peerOf(native);
    expect(peer.path).to.equal('/x/bundle/attach');
    expect(attachSocketPath(record())).to.equal('/x/bundle/attach');
    peer.sendToClient(Buffer.from('\x02out1'));
    peer.sendToClient(Buffer.from('\x03err1'));
    peer.sendToClient(Buffer.from('\x01ignored'));
    peer.sendToClient(Buffer.from('\x02'));
    peer.sendToClient(Buffer.from('\x02out2'));
    peer.end();
    await session;
    expect(stdout.text()).to.equal('out1out2');
    expect(stderr.text()).to.equal('err1');
    expect(peer.closed).to.equal(true);
  });

  it('sends stdin in packets of at most 8 KiB, in order, then shuts the write side at its end', async () => {
    const native = new FakeNativeBinding();
    const stdin = new PassThrough();
    const session = runAttachSession(record(), { stdin, stdout: new Sink(), tty: false }, new AbortController().signal, native);
    const peer = await peerOf(native);
    const big = Buffer.alloc(ATTACH_STDIN_CHUNK * 2 + 5, 'a');
    stdin.write('hello\n');
    stdin.write(big);
    stdin.end();
    for (let i = 0; i < 100 && !peer.writeShutdown; i++) await tick();
    expect(peer.writeShutdown).to.equal(true);
    expect(peer.received.every((p) => p.length <= ATTACH_STDIN_CHUNK)).to.equal(true);
    expect(Buffer.concat(peer.received).toString()).to.equal('hello\n' + big.toString());
    peer.end();
    await session;
  });

  it('an abort (client gone) ends the session and closes the socket; the container is not touched', async () => {
    const native = new FakeNativeBinding();
    const abort = new AbortController();
    const session = runAttachSession(record(), { stdout: new Sink(), tty: false }, abort.signal, native);
    const peer = await peerOf(native);
    abort.abort();
    await session;
    expect(peer.closed).to.equal(true);
    expect(native.calls.map((c) => c.method)).to.deep.equal(['connectSeqpacket']);
  });

  it('pauses reading while the client`s stdout is full and resumes on drain', async () => {
    const native = new FakeNativeBinding();
    const stdout = new Sink();
    stdout.full = true;
    const session = runAttachSession(record(), { stdout, tty: false }, new AbortController().signal, native);
    const peer = await peerOf(native);
    // highWaterMark 16 KiB: one 20 KiB packet fills it.
    peer.sendToClient(Buffer.concat([Buffer.from([2]), Buffer.alloc(20 * 1024, 'x')]));
    expect(peer.paused).to.equal(true);
    for (let i = 0; i < 100 && peer.paused; i++) await tick();
    expect(peer.paused).to.equal(false);
    peer.end();
    await session;
  });

  it('a read error rejects with a RuntimeError naming the container', async () => {
    const native = new FakeNativeBinding();
    const session = runAttachSession(record(), { stdout: new Sink(), tty: false }, new AbortController().signal, native);
    const peer = await peerOf(native);
    peer.end(fakeNativeError('ECONNRESET', 'seqpacket channel: recv'));
    const error = await session.then(() => undefined, (e: unknown) => e);
    expect(error).to.be.instanceOf(RuntimeError);
    expect((error as Error).message).to.contain('attach to container c1');
  });

  it('refuses containers that are not running, and says so when conmon is not listening', async () => {
    const native = new FakeNativeBinding();
    const notRunning = await runAttachSession(record({ state: 'exited' }), { tty: false }, new AbortController().signal, native).catch((e: unknown) => e);
    expect(notRunning).to.be.instanceOf(FailedPreconditionError);
    expect(native.calls).to.have.length(0);
    native.fail('connectSeqpacket', 'ECONNREFUSED');
    const refused = await runAttachSession(record(), { tty: false }, new AbortController().signal, native).catch((e: unknown) => e);
    expect(refused).to.be.instanceOf(FailedPreconditionError);
    expect((refused as Error).message).to.contain('not listening');
  });

  it('writes resizes of tty containers to the ctl fifo as "1 <height> <width>"', async () => {
    expect(resizeMessage({ width: 100, height: 40 })).to.equal('1 40 100\n');
    expect(resizeMessage({ width: 80.7, height: -1 })).to.equal('1 0 80\n');
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-attach-unit-'));
    try {
      const bundle = path.join(dir, 'bundle');
      await fs.mkdir(bundle);
      // A regular file stands in for the fifo: O_NONBLOCK write-open works on it too.
      await fs.writeFile(path.join(bundle, 'ctl'), '');
      const native = new FakeNativeBinding();
      async function* sizes() {
        yield { width: 100, height: 40 };
        yield { width: 120, height: 30 };
      }
      const session = runAttachSession(record({ tty: true, paths: { dir, bundle, rootfs: '' } }), { tty: true, stdout: new Sink(), resize: sizes() }, new AbortController().signal, native);
      const peer = await peerOf(native);
      let ctl = '';
      for (let i = 0; i < 100 && !ctl.includes('1 30 120\n'); i++) {
        await tick();
        ctl = await fs.readFile(path.join(bundle, 'ctl'), 'utf8');
      }
      // Each message is written at offset 0 of a fresh open: the file keeps the last one.
      expect(ctl).to.equal('1 30 120\n');
      peer.end();
      await session;
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

describe('runtime/exec-session with a terminal (fake native)', () => {
  const runtime = new RuncDriver('/nonexistent/runc', '/nonexistent');

  it('refuses a terminal exec without the native pty functions (Unimplemented), and checks the state first', async () => {
    const io = { tty: true };
    const noNative = await runExecSession(record(), runtime, ['sh'], io, new AbortController().signal).catch((e: unknown) => e);
    expect(noNative).to.be.instanceOf(UnimplementedError);
    const stopped = await runExecSession(record({ state: 'exited' }), runtime, ['sh'], io, new AbortController().signal, new FakeNativeBinding()).catch((e: unknown) => e);
    expect(stopped).to.be.instanceOf(FailedPreconditionError);
  });
});
