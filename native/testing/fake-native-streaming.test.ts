import { expect } from 'chai';

import { NativeError } from '../binding';
import { fakeNativeError, FakeNativeBinding } from './fake-native';

describe('native/fake: pty and seqpacket stand-ins', () => {
  it('openPty hands out distinct fake fds and setWindowSize records the size per fd', () => {
    const native = new FakeNativeBinding();
    const a = native.openPty();
    const b = native.openPty();
    expect(new Set([a.master, a.slave, b.master, b.slave]).size).to.equal(4);
    expect(a.slavePath).to.match(/^\/dev\/pts\//);
    native.setWindowSize(a.master, 40, 100);
    native.setWindowSize(a.master, 30, 120);
    expect(native.windowSizes.get(a.master)).to.deep.equal({ rows: 30, cols: 120 });
    expect(native.callsOf('setWindowSize').map((c) => c.args)).to.deep.equal([
      [a.master, 40, 100],
      [a.master, 30, 120],
    ]);
  });

  it('injected failures apply to the synchronous calls too', () => {
    const native = new FakeNativeBinding();
    native.fail('openPty', 'EMFILE', 1);
    expect(() => native.openPty()).to.throw(NativeError);
    expect(native.openPty().master).to.be.a('number');
  });

  it('connectSeqpacket connects to a peer the test drives and inspects', async () => {
    const native = new FakeNativeBinding();
    const packets: string[] = [];
    const ends: Array<NativeError | undefined> = [];
    const socket = await native.connectSeqpacket('/run/x/attach', { onPacket: (p) => packets.push(p.toString()), onEnd: (e) => ends.push(e) });
    const peer = native.seqpacketPeers[0];
    expect(peer.path).to.equal('/run/x/attach');
    peer.sendToClient(Buffer.from('\x02hi'));
    await socket.send(Buffer.from('typed'));
    socket.pause();
    expect(peer.paused).to.equal(true);
    socket.resume();
    socket.shutdownWrite();
    expect(packets).to.deep.equal(['\x02hi']);
    expect(peer.received.map((p) => p.toString())).to.deep.equal(['typed']);
    expect(peer.writeShutdown).to.equal(true);
    peer.end(fakeNativeError('ECONNRESET', 'recv'));
    expect(ends).to.have.length(1);
    expect(ends[0]?.code).to.equal('ECONNRESET');
    socket.close();
    expect(peer.closed).to.equal(true);
    peer.sendToClient(Buffer.from('\x02late'));
    expect(packets).to.have.length(1);
    const late = await socket.send(Buffer.from('x')).catch((e: unknown) => e);
    expect((late as NativeError).code).to.equal('EBADF');
  });

  it('streamFd connects the fd to a peer named fd:<n>', () => {
    const native = new FakeNativeBinding();
    const pair = native.openPty();
    const socket = native.streamFd(pair.master, { onPacket: () => undefined, onEnd: () => undefined });
    expect(native.seqpacketPeers[0].path).to.equal(`fd:${pair.master}`);
    socket.close();
    expect(native.seqpacketPeers[0].closed).to.equal(true);
  });

  it('connectSeqpacket failures can be injected', async () => {
    const native = new FakeNativeBinding();
    native.fail('connectSeqpacket', 'ENOENT');
    const error = await native.connectSeqpacket('/nope', { onPacket: () => undefined, onEnd: () => undefined }).catch((e: unknown) => e);
    expect((error as NativeError).code).to.equal('ENOENT');
    expect(native.seqpacketPeers).to.have.length(0);
  });
});
