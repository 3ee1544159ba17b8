import { expect } from 'chai';
import { grpcMessage, grpcRequestFields, headerBlock } from '../testing/h2-raw';
import { transportFixture, u32 } from '../testing/transport-fixture';
import { CLIENT_PREFACE, encodeFrame, ErrorCode, Flag, FrameType } from './frames';

const END_HEADERS = Flag.END_HEADERS;
const END_STREAM = Flag.END_STREAM;

describe('cri/transport: bounds on hostile clients', function () {
  this.timeout(20000);
  const h2 = transportFixture('berth-h2-limits-');

  it('answers a header list over 64 KiB decoded with RESOURCE_EXHAUSTED, and keeps serving the connection', async () => {
    await h2.start();
    const c = h2.client();
    const big = Array.from({ length: 10 }, (_, i) => [`x-big-${i}`, 'v'.repeat(7000)] as const);
    // 70 KiB of fields, sent as HEADERS + CONTINUATION frames under the block limit.
    const block = headerBlock(grpcRequestFields('/t/Echo', big));
    c.frame(FrameType.HEADERS, 0, 1, block.subarray(0, 16000));
    for (let off = 16000; off < block.length; off += 16000) c.frame(FrameType.CONTINUATION, off + 16000 >= block.length ? END_HEADERS : 0, 1, block.subarray(off, off + 16000));
    c.frame(FrameType.DATA, END_STREAM, 1, grpcMessage(Buffer.from('x')));
    const t = await h2.trailersOf(c, 1);
    expect(t.headers).to.deep.include(['grpc-status', '8']);
    c.frame(FrameType.HEADERS, END_HEADERS, 3, headerBlock(grpcRequestFields('/t/Echo')));
    c.frame(FrameType.DATA, END_STREAM, 3, grpcMessage(Buffer.from('x')));
    expect((await h2.trailersOf(c, 3)).headers).to.deep.include(['grpc-status', '0']);
  });

  it('ends a CONTINUATION flood with GOAWAY ENHANCE_YOUR_CALM: too many bytes, or too many (empty) frames', async () => {
    await h2.start();
    const bytes = h2.client();
    bytes.frame(FrameType.HEADERS, 0, 1, headerBlock(grpcRequestFields('/t/Echo')));
    for (let i = 0; i < 20; i++) bytes.frame(FrameType.CONTINUATION, 0, 1, Buffer.alloc(16000, 0x82));
    expect(await bytes.goAwayCode()).to.equal(ErrorCode.ENHANCE_YOUR_CALM);
    const empty = h2.client();
    empty.frame(FrameType.HEADERS, 0, 1, headerBlock(grpcRequestFields('/t/Echo')));
    for (let i = 0; i < 1000; i++) empty.frame(FrameType.CONTINUATION, 0, 1);
    expect(await empty.goAwayCode()).to.equal(ErrorCode.ENHANCE_YOUR_CALM);
    expect(h2.srv.connections.map((x) => x.pendingInputBytes)).to.deep.equal([0, 0]);
  });

  it('refuses streams beyond MAX_CONCURRENT_STREAMS with REFUSED_STREAM', async () => {
    await h2.start({ maxConcurrentStreams: 3 });
    const c = h2.client();
    for (const id of [1, 3, 5, 7]) {
      c.frame(FrameType.HEADERS, END_HEADERS, id, headerBlock(grpcRequestFields('/t/Hold')));
      c.frame(FrameType.DATA, END_STREAM, id, grpcMessage(Buffer.from('x')));
    }
    const rst = await c.waitFor((f) => f.type === FrameType.RST_STREAM);
    expect(rst.streamId).to.equal(7);
    expect(rst.payload.readUInt32BE(0)).to.equal(ErrorCode.REFUSED_STREAM);
    await waitUntil(() => h2.log.held.length === 3);
    h2.log.held[0].sendUnary(Buffer.from('ok'));
    await h2.trailersOf(c, 1);
    // A slot is free again.
    c.frame(FrameType.HEADERS, END_HEADERS, 9, headerBlock(grpcRequestFields('/t/Echo')));
    c.frame(FrameType.DATA, END_STREAM, 9, grpcMessage(Buffer.from('x')));
    expect((await h2.trailersOf(c, 9)).headers).to.deep.include(['grpc-status', '0']);
  });

  it('ends a rapid-reset flood (streams opened and reset) with GOAWAY ENHANCE_YOUR_CALM', async () => {
    await h2.start();
    const c = h2.client();
    const frames: Buffer[] = [];
    for (let i = 0; i < 1200; i++) {
      const id = 1 + i * 2;
      frames.push(encodeFrame(FrameType.HEADERS, END_HEADERS, id, headerBlock(grpcRequestFields('/t/Hold'))), encodeFrame(FrameType.RST_STREAM, 0, id, u32(ErrorCode.CANCEL)));
    }
    c.send(Buffer.concat(frames));
    expect(await c.goAwayCode()).to.equal(ErrorCode.ENHANCE_YOUR_CALM);
    await c.waitClosed();
  });

  it('lets a client reset streams at a modest pace', async () => {
    await h2.start({ resetBurst: 20, resetsPerSecond: 1000 });
    const c = h2.client();
    for (let i = 0; i < 60; i++) {
      const id = 1 + i * 2;
      c.frame(FrameType.HEADERS, END_HEADERS, id, headerBlock(grpcRequestFields('/t/Hold')));
      c.frame(FrameType.RST_STREAM, 0, id, u32(ErrorCode.CANCEL));
      await new Promise((r) => setTimeout(r, 3));
    }
    c.frame(FrameType.PING, 0, 0, Buffer.alloc(8, 1));
    await c.waitFor((f) => f.type === FrameType.PING);
    expect(c.frames.some((f) => f.type === FrameType.GOAWAY)).to.equal(false);
  });

  it('ends a PING flood from a client that does not read with GOAWAY ENHANCE_YOUR_CALM', async () => {
    await h2.start({ maxQueuedControlFrames: 100 });
    const c = h2.client();
    c.socket.pause();
    const ping = encodeFrame(FrameType.PING, 0, 0, Buffer.alloc(8));
    const burst = Buffer.concat(Array.from({ length: 5000 }, () => ping));
    for (let i = 0; i < 40 && h2.srv.errors.length === 0; i++) {
      c.send(burst);
      await new Promise((r) => setTimeout(r, 10));
    }
    await waitUntil(() => h2.srv.errors.length > 0);
    expect(h2.srv.errors[0].message).to.match(/control frames/);
    c.socket.resume();
    await c.waitClosed(5000);
  });

  it('answers a message over the limit with RESOURCE_EXHAUSTED from its prefix alone, without waiting for (or keeping) the body', async () => {
    await h2.start({}, {}, 1024);
    const c = h2.client();
    c.frame(FrameType.HEADERS, END_HEADERS, 1, headerBlock(grpcRequestFields('/t/Echo')));
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(16 * 1024 * 1024 + 1, 1);
    c.frame(FrameType.DATA, 0, 1, prefix);
    const t = await h2.trailersOf(c, 1);
    expect(t.headers).to.deep.include(['grpc-status', '8']);
    expect(t.headers?.find(([n]) => n === 'grpc-message')?.[1]).to.match(/larger than max \(16777217 vs. 1024\)/);
    // The server ends its side with RST_STREAM NO_ERROR: the client may stop sending.
    const rst = await c.waitFor((f) => f.type === FrameType.RST_STREAM && f.streamId === 1);
    expect(rst.payload.readUInt32BE(0)).to.equal(ErrorCode.NO_ERROR);
  });

  it('bounds request bytes held across the streams of one connection', async () => {
    await h2.start({ maxBufferedRequestBytes: 100_000 });
    const c = h2.client();
    for (const id of [1, 3]) {
      c.frame(FrameType.HEADERS, END_HEADERS, id, headerBlock(grpcRequestFields('/t/Echo')));
      c.frame(FrameType.DATA, 0, id, grpcMessage(Buffer.alloc(60_000)).subarray(0, 1000));
    }
    const t = await h2.trailersOf(c, 3);
    expect(t.headers).to.deep.include(['grpc-status', '8']);
    expect(c.stream(1).length).to.equal(0);
  });

  it('closes a connection that sends no preface in time, but keeps an idle connection that did', async () => {
    await h2.start({ prefaceTimeoutMs: 200 });
    const silent = h2.rawClient();
    const idle = h2.client();
    await silent.waitClosed(2000);
    expect(await silent.goAwayCode()).to.equal(ErrorCode.SETTINGS_TIMEOUT);
    await new Promise((r) => setTimeout(r, 400));
    expect(idle.closed).to.equal(false);
    idle.frame(FrameType.HEADERS, END_HEADERS, 1, headerBlock(grpcRequestFields('/t/Echo')));
    idle.frame(FrameType.DATA, END_STREAM, 1, grpcMessage(Buffer.from('x')));
    expect((await h2.trailersOf(idle, 1)).headers).to.deep.include(['grpc-status', '0']);
  });

  it('holds at most one partial frame of input', async () => {
    await h2.start();
    const c = h2.rawClient();
    c.send(Buffer.concat([CLIENT_PREFACE, encodeFrame(FrameType.SETTINGS, 0, 0), encodeFrame(FrameType.DATA, 0, 1, Buffer.alloc(16384)).subarray(0, 9000)]));
    await waitUntil(() => h2.srv.connections[0]?.pendingInputBytes === 9000);
    const huge = Buffer.alloc(9);
    huge.writeUIntBE(1 << 20, 0, 3);
    c.send(Buffer.concat([Buffer.alloc(16384 + 9 - 9000), huge]));
    expect(await c.goAwayCode()).to.be.oneOf([ErrorCode.PROTOCOL_ERROR, ErrorCode.FRAME_SIZE_ERROR]);
  });
});

async function waitUntil(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
