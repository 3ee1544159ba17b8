import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { loadNativeBinding } from './addon';
import { NativeError, type NativeBinding, type SeqpacketSocket } from './binding';

/**
 * A SOCK_SEQPACKET peer (Node cannot make one): answers every packet with 0x02 + the packet,
 * sends a large packet on "big", and on end-of-file sends "bye" and closes.
 */
const PEER = String.raw`
import os, socket, sys
os.chdir(sys.argv[1])  # bind by a relative name: the full path is longer than sun_path
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.bind(sys.argv[2]); s.listen(1)
print("ready", flush=True)
c, _ = s.accept()
while True:
    p = c.recv(65536)
    if not p:
        c.send(b"bye"); c.close(); break
    if p == b"big":
        c.send(b"\x03" + b"x" * 8192)
    else:
        c.send(b"\x02" + p)
`;

describe('native connectSeqpacket (real addon, python3 peer)', function () {
  this.timeout(20_000);
  let native: NativeBinding;
  let dir: string;
  let peer: ChildProcess | undefined;
  let socket: SeqpacketSocket | undefined;

  before(() => {
    native = loadNativeBinding();
  });

  beforeEach(() => {
    // A directory deep enough that <dir>/attach does not fit in sun_path (108 bytes).
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-native-seqpacket-'));
    dir = path.join(dir, 'a'.repeat(60), 'b'.repeat(40));
    fs.mkdirSync(dir, { recursive: true });
  });

  afterEach(() => {
    socket?.close();
    socket = undefined;
    peer?.kill('SIGKILL');
    peer = undefined;
    fs.rmSync(path.dirname(path.dirname(dir)), { recursive: true, force: true });
  });

  async function startPeer(): Promise<string> {
    peer = spawn('/usr/bin/python3', ['-c', PEER, dir, 'attach'], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      peer!.stdout!.once('data', () => resolve());
      peer!.once('exit', (code) => reject(new Error(`peer exited ${code}`)));
    });
    return path.join(dir, 'attach');
  }

  it('keeps packet boundaries both ways over a path longer than sun_path, and reports the peer closing', async () => {
    const socketPath = await startPeer();
    expect(socketPath.length).to.be.greaterThan(108);
    const packets: Buffer[] = [];
    let ended: (error?: NativeError) => void = () => undefined;
    const end = new Promise<NativeError | undefined>((resolve) => (ended = resolve));
    socket = await native.connectSeqpacket(socketPath, { onPacket: (p) => packets.push(p), onEnd: (e) => ended(e) });
    await socket.send(Buffer.from('one'));
    await socket.send(Buffer.from('two'));
    await socket.send(Buffer.from('big'));
    socket.shutdownWrite(); // the peer reads end-of-file, answers "bye" and closes
    expect(await end).to.equal(undefined);
    expect(packets.map((p) => p.toString('latin1'))).to.deep.equal(['\x02one', '\x02two', '\x03' + 'x'.repeat(8192), 'bye']);
  });

  it('pause stops delivery until resume', async () => {
    const socketPath = await startPeer();
    const packets: string[] = [];
    socket = await native.connectSeqpacket(socketPath, { onPacket: (p) => packets.push(p.toString()), onEnd: () => undefined });
    socket.pause();
    await socket.send(Buffer.from('held'));
    await new Promise((r) => setTimeout(r, 200));
    expect(packets).to.deep.equal([]);
    socket.resume();
    for (let i = 0; i < 100 && packets.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(packets).to.deep.equal(['\x02held']);
  });

  it('rejects with a NativeError naming the path when nothing listens', async () => {
    const missing = path.join(dir, 'nobody');
    const error = await native.connectSeqpacket(missing, { onPacket: () => undefined, onEnd: () => undefined }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(NativeError);
    expect((error as NativeError).code).to.equal('ENOENT');
    expect((error as NativeError).message).to.contain(missing);
  });

  it('send after close rejects with EBADF and close is idempotent', async () => {
    const socketPath = await startPeer();
    socket = await native.connectSeqpacket(socketPath, { onPacket: () => undefined, onEnd: () => undefined });
    socket.close();
    socket.close();
    const error = await socket.send(Buffer.from('late')).then(() => undefined, (e: unknown) => e);
    expect((error as NativeError).code).to.equal('EBADF');
  });
});
