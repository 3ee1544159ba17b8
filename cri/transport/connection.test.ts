import { expect } from 'chai';
import { grpcMessage, grpcRequestFields, headerBlock, RawH2Client } from '../testing/h2-raw';
import { transportFixture, u32 } from '../testing/transport-fixture';
import { CLIENT_PREFACE, encodeFrame, encodeSettings, ErrorCode, Flag, FrameType, SettingId } from './frames';

const END_HEADERS = Flag.END_HEADERS;
const END_STREAM = Flag.END_STREAM;

describe('cri/transport: HTTP/2 connection (raw frames)', function () {
  this.timeout(10000);
  const h2 = transportFixture('berth-h2-');
  function request(c: RawH2Client, id: number, route: string, body = Buffer.from('hi'), extra: Array<readonly [string, string]> = []): void {
    c.frame(FrameType.HEADERS, END_HEADERS, id, headerBlock(grpcRequestFields(route, extra)));
    c.frame(FrameType.DATA, END_STREAM, id, grpcMessage(body));
  }

  it('sends its SETTINGS first (limits announced), acknowledges the client SETTINGS and PINGs', async () => {
    await h2.start();
    const c = h2.client();
    const first = await c.waitFor(() => true);
    expect(first.type).to.equal(FrameType.SETTINGS);
    const settings = new Map<number, number>();
    for (let i = 0; i < first.payload.length; i += 6) settings.set(first.payload.readUInt16BE(i), first.payload.readUInt32BE(i + 2));
    expect(settings.get(SettingId.MAX_CONCURRENT_STREAMS)).to.equal(1000);
    expect(settings.get(SettingId.MAX_HEADER_LIST_SIZE)).to.equal(65536);
    await c.waitFor((f) => f.type === FrameType.SETTINGS && f.flags === Flag.ACK);
    c.frame(FrameType.PING, 0, 0, Buffer.from('12345678'));
    const pong = await c.waitFor((f) => f.type === FrameType.PING);
    expect(pong.flags).to.equal(Flag.ACK);
    expect(pong.payload.toString()).to.equal('12345678');
  });

  it('answers a bad client preface, or a first frame other than SETTINGS, with GOAWAY PROTOCOL_ERROR', async () => {
    await h2.start();
    const bad = h2.rawClient();
    bad.send(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    expect(await bad.goAwayCode()).to.equal(ErrorCode.PROTOCOL_ERROR);
    await bad.waitClosed();
    const noSettings = h2.rawClient();
    noSettings.send(Buffer.concat([CLIENT_PREFACE, encodeFrame(FrameType.PING, 0, 0, Buffer.alloc(8))]));
    expect(await noSettings.goAwayCode()).to.equal(ErrorCode.PROTOCOL_ERROR);
  });

  for (const [name, setting, value, code] of [
    ['ENABLE_PUSH 2', SettingId.ENABLE_PUSH, 2, ErrorCode.PROTOCOL_ERROR],
    ['INITIAL_WINDOW_SIZE 2^31', SettingId.INITIAL_WINDOW_SIZE, 2 ** 31, ErrorCode.FLOW_CONTROL_ERROR],
    ['MAX_FRAME_SIZE 100', SettingId.MAX_FRAME_SIZE, 100, ErrorCode.PROTOCOL_ERROR],
    ['MAX_FRAME_SIZE 2^24', SettingId.MAX_FRAME_SIZE, 2 ** 24, ErrorCode.PROTOCOL_ERROR],
  ] as const) {
    it(`refuses SETTINGS ${name} with GOAWAY ${code}`, async () => {
      await h2.start();
      const c = h2.client();
      c.send(encodeSettings([[setting, value]]));
      expect(await c.goAwayCode()).to.equal(code);
    });
  }

  it('answers a unary call with HEADERS, DATA and trailers in one socket write', async () => {
    await h2.start();
    const c = h2.client();
    await c.waitFor((f) => f.type === FrameType.SETTINGS && f.flags === Flag.ACK);
    const before = h2.srv.writes[0];
    request(c, 1, '/t/Echo', Buffer.from('ping'));
    const trailers = await h2.trailersOf(c, 1);
    expect(trailers.headers).to.deep.include(['grpc-status', '0']);
    const frames = c.stream(1);
    expect(frames.map((f) => f.type)).to.deep.equal([FrameType.HEADERS, FrameType.DATA, FrameType.HEADERS]);
    expect(frames[0].headers).to.deep.equal([[':status', '200'], ['content-type', 'application/grpc']]);
    expect(frames[1].payload.subarray(5).toString()).to.equal('ping');
    expect(h2.srv.writes[0] - before).to.equal(1);
  });

  it('takes HEADERS split over CONTINUATION frames, with padding and priority; ignores unknown frame types and PRIORITY', async () => {
    await h2.start();
    const c = h2.client();
    const block = headerBlock(grpcRequestFields('/t/Echo'));
    const pad = 7;
    const first = Buffer.concat([Buffer.from([pad]), u32(0), Buffer.from([16]), block.subarray(0, 10), Buffer.alloc(pad)]);
    c.frame(FrameType.HEADERS, Flag.PADDED | Flag.PRIORITY, 1, first);
    c.frame(FrameType.CONTINUATION, 0, 1, block.subarray(10, 30));
    c.frame(FrameType.CONTINUATION, END_HEADERS, 1, block.subarray(30));
    c.frame(0x42, 0, 1, Buffer.from('whatever'));
    c.frame(FrameType.PRIORITY, 0, 1, Buffer.alloc(5));
    const body = grpcMessage(Buffer.from('padded'));
    c.frame(FrameType.DATA, Flag.PADDED | END_STREAM, 1, Buffer.concat([Buffer.from([3]), body, Buffer.alloc(3)]));
    await h2.trailersOf(c, 1);
    expect(c.stream(1).find((f) => f.type === FrameType.DATA)?.payload.subarray(5).toString()).to.equal('padded');
  });

  it('treats a frame between HEADERS and CONTINUATION, and PUSH_PROMISE from a client, as PROTOCOL_ERROR', async () => {
    await h2.start();
    const c = h2.client();
    c.frame(FrameType.HEADERS, 0, 1, headerBlock(grpcRequestFields('/t/Echo')).subarray(0, 5));
    c.frame(FrameType.PING, 0, 0, Buffer.alloc(8));
    expect(await c.goAwayCode()).to.equal(ErrorCode.PROTOCOL_ERROR);
    const p = h2.client();
    p.frame(FrameType.PUSH_PROMISE, END_HEADERS, 1, Buffer.alloc(4));
    expect(await p.goAwayCode()).to.equal(ErrorCode.PROTOCOL_ERROR);
  });

  it('enforces stream id rules: even ids and ids going backwards end the connection, DATA on an idle stream too', async () => {
    await h2.start();
    const even = h2.client();
    even.frame(FrameType.HEADERS, END_HEADERS | END_STREAM, 2, headerBlock(grpcRequestFields('/t/Echo')));
    expect(await even.goAwayCode()).to.equal(ErrorCode.PROTOCOL_ERROR);
    const back = h2.client();
    request(back, 5, '/t/Echo');
    await h2.trailersOf(back, 5);
    back.frame(FrameType.HEADERS, END_HEADERS, 3, headerBlock(grpcRequestFields('/t/Echo')));
    expect(await back.goAwayCode()).to.equal(ErrorCode.STREAM_CLOSED);
    const idle = h2.client();
    idle.frame(FrameType.DATA, 0, 7, Buffer.from('x'));
    expect(await idle.goAwayCode()).to.equal(ErrorCode.PROTOCOL_ERROR);
  });

  it('ignores DATA a client still sends on a stream the server already ended, and keeps the connection', async () => {
    await h2.start();
    const c = h2.client();
    c.frame(FrameType.HEADERS, END_HEADERS, 1, headerBlock(grpcRequestFields('/t/Nope')));
    const rst = await c.waitFor((f) => f.type === FrameType.RST_STREAM && f.streamId === 1);
    expect(rst.payload.readUInt32BE(0)).to.equal(ErrorCode.NO_ERROR);
    c.frame(FrameType.DATA, END_STREAM, 1, grpcMessage(Buffer.from('late')));
    c.frame(FrameType.WINDOW_UPDATE, 0, 1, u32(10));
    c.frame(FrameType.RST_STREAM, 0, 1, u32(ErrorCode.CANCEL));
    request(c, 3, '/t/Echo');
    expect((await h2.trailersOf(c, 3)).headers).to.deep.include(['grpc-status', '0']);
    expect(c.frames.some((f) => f.type === FrameType.GOAWAY)).to.equal(false);
  });

  it('never sends DATA beyond the client windows; resumes on WINDOW_UPDATE and on a larger INITIAL_WINDOW_SIZE', async () => {
    await h2.start({}, { bigBytes: 100_000 });
    const c = h2.client([[SettingId.INITIAL_WINDOW_SIZE, 0]]);
    request(c, 1, '/t/Big');
    await c.waitFor((f) => f.streamId === 1 && f.type === FrameType.HEADERS);
    await new Promise((r) => setTimeout(r, 50));
    expect(c.stream(1).filter((f) => f.type === FrameType.DATA)).to.have.length(0);
    c.frame(FrameType.WINDOW_UPDATE, 0, 1, u32(1000));
    await c.waitFor((f) => f.streamId === 1 && f.type === FrameType.DATA);
    await new Promise((r) => setTimeout(r, 50));
    const sent = () => c.stream(1).filter((f) => f.type === FrameType.DATA).reduce((n, f) => n + f.payload.length, 0);
    expect(sent()).to.equal(1000);
    // Raising the initial window adjusts the open stream; the connection window (65535) then limits.
    c.send(encodeSettings([[SettingId.INITIAL_WINDOW_SIZE, 1 << 20]]));
    await c.waitFor(() => sent() === 65535);
    await new Promise((r) => setTimeout(r, 50));
    expect(sent()).to.equal(65535);
    expect(c.stream(1).every((f) => f.payload.length <= 16384)).to.equal(true);
    c.frame(FrameType.WINDOW_UPDATE, 0, 0, u32(1 << 20));
    await h2.trailersOf(c, 1);
    expect(sent()).to.equal(100_005);
  });

  it('charges one-write answers to the connection window: answers past it wait for WINDOW_UPDATE', async () => {
    await h2.start();
    const c = h2.client();
    const body = Buffer.alloc(6000, 1);
    const data = () => c.frames.filter((f) => f.type === FrameType.DATA).reduce((n, f) => n + f.payload.length, 0);
    // Ten answers of 6005 octets fit the 65535-octet connection window; the eleventh gets the 5485 left.
    for (let i = 0; i < 11; i++) request(c, 1 + 2 * i, '/t/Echo', body);
    await c.waitFor(() => data() === 65535);
    await new Promise((r) => setTimeout(r, 50));
    expect(data()).to.equal(65535);
    expect(c.frames.some((f) => f.streamId === 21 && f.type === FrameType.HEADERS && (f.flags & END_STREAM) !== 0)).to.equal(false);
    c.frame(FrameType.WINDOW_UPDATE, 0, 0, u32(1000));
    const trailers = await h2.trailersOf(c, 21);
    expect(trailers.headers).to.deep.include(['grpc-status', '0']);
    expect(data()).to.equal(11 * 6005);
  });

  it('keeps HEADERS, DATA and trailers in order when a small answer must wait for the stream window', async () => {
    await h2.start();
    const c = h2.client([[SettingId.INITIAL_WINDOW_SIZE, 3]]);
    request(c, 1, '/t/Echo', Buffer.from('ping'));
    await c.waitFor((f) => f.streamId === 1 && f.type === FrameType.DATA);
    await new Promise((r) => setTimeout(r, 50));
    expect(c.stream(1).map((f) => [f.type, f.payload.length])).to.deep.equal([[FrameType.HEADERS, c.stream(1)[0].payload.length], [FrameType.DATA, 3]]);
    c.frame(FrameType.WINDOW_UPDATE, 0, 1, u32(100));
    await h2.trailersOf(c, 1);
    const frames = c.stream(1);
    expect(frames.map((f) => f.type)).to.deep.equal([FrameType.HEADERS, FrameType.DATA, FrameType.DATA, FrameType.HEADERS]);
    expect(Buffer.concat([frames[1].payload, frames[2].payload]).subarray(5).toString()).to.equal('ping');
  });

  it('uses the client MAX_FRAME_SIZE for DATA', async () => {
    await h2.start({}, { bigBytes: 60_000 });
    const c = h2.client([[SettingId.MAX_FRAME_SIZE, 40_000]]);
    request(c, 1, '/t/Big');
    await h2.trailersOf(c, 1);
    expect(c.stream(1).filter((f) => f.type === FrameType.DATA).map((f) => f.payload.length)).to.deep.equal([40_000, 20_005]);
  });

  it('ends the connection with FLOW_CONTROL_ERROR when WINDOW_UPDATE overflows the window, and a stream when its window overflows', async () => {
    await h2.start();
    const c = h2.client();
    c.frame(FrameType.WINDOW_UPDATE, 0, 0, u32(0x7fffffff));
    expect(await c.goAwayCode()).to.equal(ErrorCode.FLOW_CONTROL_ERROR);
    const s = h2.client();
    s.frame(FrameType.HEADERS, END_HEADERS, 1, headerBlock(grpcRequestFields('/t/Hold')));
    s.frame(FrameType.WINDOW_UPDATE, 0, 1, u32(0x7fffffff));
    const rst = await s.waitFor((f) => f.type === FrameType.RST_STREAM && f.streamId === 1);
    expect(rst.payload.readUInt32BE(0)).to.equal(ErrorCode.FLOW_CONTROL_ERROR);
  });

  it('gives window back as request data arrives', async () => {
    await h2.start({ streamWindow: 65535 });
    const c = h2.client([[SettingId.INITIAL_WINDOW_SIZE, 1 << 20]]);
    c.frame(FrameType.WINDOW_UPDATE, 0, 0, u32(1 << 20));
    c.frame(FrameType.HEADERS, END_HEADERS, 1, headerBlock(grpcRequestFields('/t/Echo')));
    const body = grpcMessage(Buffer.alloc(200_000, 1));
    for (let off = 0; off < body.length; off += 16384) {
      const part = body.subarray(off, off + 16384);
      // Wait for window like a client would: never more than 65535 unacknowledged.
      const acked = () => c.stream(1).filter((f) => f.type === FrameType.WINDOW_UPDATE).reduce((n, f) => n + f.payload.readUInt32BE(0), 0);
      await c.waitFor(() => off + part.length <= 65535 + acked());
      c.frame(FrameType.DATA, off + 16384 >= body.length ? END_STREAM : 0, 1, part);
    }
    await h2.trailersOf(c, 1);
    expect(c.stream(1).filter((f) => f.type === FrameType.DATA).reduce((n, f) => n + f.payload.length, 0)).to.equal(200_005);
  });

  it('resets a stream whose client sends more than the stream window', async () => {
    await h2.start({ streamWindow: 10_000 });
    const over = h2.client();
    over.frame(FrameType.HEADERS, END_HEADERS, 1, headerBlock(grpcRequestFields('/t/Hold')));
    over.frame(FrameType.DATA, 0, 1, grpcMessage(Buffer.alloc(16_000)).subarray(0, 16_000));
    const rst = await over.waitFor((f) => f.type === FrameType.RST_STREAM && f.streamId === 1);
    expect(rst.payload.readUInt32BE(0)).to.equal(ErrorCode.FLOW_CONTROL_ERROR);
  });

  it('turns an exception from the layer above into GOAWAY INTERNAL_ERROR for that connection only', async () => {
    await h2.start();
    const c = h2.client();
    request(c, 1, '/t/Throw');
    expect(await c.goAwayCode()).to.equal(ErrorCode.INTERNAL_ERROR);
    expect(h2.srv.errors[0].message).to.match(/route bug/);
    const other = h2.client();
    request(other, 1, '/t/Echo');
    expect((await h2.trailersOf(other, 1)).headers).to.deep.include(['grpc-status', '0']);
  });

  it('cancels the call when the client sends RST_STREAM', async () => {
    await h2.start();
    const c = h2.client();
    request(c, 1, '/t/Hold');
    await waitUntil(() => h2.log.held.length === 1);
    c.frame(FrameType.RST_STREAM, 0, 1, u32(ErrorCode.CANCEL));
    await waitUntil(() => h2.log.cancelled === 1);
    expect(h2.log.held[0].cancelled).to.equal(true);
  });

  it('shuts down gracefully: GOAWAY with the last stream id, running calls finish, then the socket closes', async () => {
    await h2.start();
    const c = h2.client();
    request(c, 1, '/t/Hold');
    await waitUntil(() => h2.log.held.length === 1);
    h2.srv.connections[0].goAway();
    const goAway = await c.waitFor((f) => f.type === FrameType.GOAWAY);
    expect(goAway.payload.readUInt32BE(0)).to.equal(1);
    expect(goAway.payload.readUInt32BE(4)).to.equal(ErrorCode.NO_ERROR);
    // A stream opened after GOAWAY is not served.
    request(c, 3, '/t/Echo');
    await new Promise((r) => setTimeout(r, 50));
    expect(c.stream(3)).to.have.length(0);
    expect(c.closed).to.equal(false);
    h2.log.held[0].sendUnary(Buffer.from('done'));
    await h2.trailersOf(c, 1);
    await c.waitClosed();
  });
});

async function waitUntil(cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
