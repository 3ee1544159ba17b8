import { expect } from 'chai';
import { grpcMessage, grpcRequestFields, headerBlock, RawH2Client } from '../testing/h2-raw';
import { transportFixture, u32 } from '../testing/transport-fixture';
import { testRoutes } from '../testing/transport-routes';
import { encodeSettings, ErrorCode, Flag, FrameType, SettingId } from './frames';
import { percentEncode } from './hpack-encoder';
import { parseGrpcTimeout } from './request-headers';

const END_HEADERS = Flag.END_HEADERS;
const END_STREAM = Flag.END_STREAM;

describe('cri/transport: gRPC over HTTP/2', function () {
  this.timeout(10000);
  const h2 = transportFixture('berth-grpc-');
  const start = (routes: Parameters<typeof testRoutes>[0] = {}): Promise<void> => h2.start({}, routes);
  /** Sends a request and returns the stream's final HEADERS fields. */
  async function call(c: RawH2Client, id: number, fields: Array<readonly [string, string]>, body: Buffer | null = grpcMessage(Buffer.from('x'))): Promise<Map<string, string>> {
    c.frame(FrameType.HEADERS, END_HEADERS | (body ? 0 : END_STREAM), id, headerBlock(fields));
    if (body) c.frame(FrameType.DATA, END_STREAM, id, body);
    const last = await c.waitFor((f) => f.streamId === id && ((f.type === FrameType.HEADERS && (f.flags & END_STREAM) !== 0) || f.type === FrameType.RST_STREAM));
    if (last.type === FrameType.RST_STREAM) return new Map([['rst', String(last.payload.readUInt32BE(0))]]);
    const all = c.stream(id).filter((f) => f.type === FrameType.HEADERS).flatMap((f) => f.headers ?? []);
    return new Map(all);
  }

  it('answers a wrong content-type with HTTP 415, a GET with 405, both with a gRPC status', async () => {
    await start();
    const c = h2.client();
    const ct = await call(c, 1, grpcRequestFields('/t/Echo').map(([n, v]) => (n === 'content-type' ? [n, 'application/json'] : [n, v])));
    expect(ct.get(':status')).to.equal('415');
    expect(ct.get('grpc-status')).to.equal('13');
    const get = await call(c, 3, grpcRequestFields('/t/Echo').map(([n, v]) => (n === ':method' ? [n, 'GET'] : [n, v])));
    expect(get.get(':status')).to.equal('405');
    const plus = await call(c, 5, grpcRequestFields('/t/Echo').map(([n, v]) => (n === 'content-type' ? [n, 'application/grpc+proto'] : [n, v])));
    expect(plus.get('grpc-status')).to.equal('0');
  });

  it('answers an unknown method with a trailers-only UNIMPLEMENTED', async () => {
    await start();
    const c = h2.client();
    const h = await call(c, 1, grpcRequestFields('/t/Nope'));
    expect([h.get(':status'), h.get('grpc-status'), h.get('grpc-message')]).to.deep.equal(['200', '12', 'unknown method /t/Nope']);
    expect(c.stream(1)).to.have.length(2); // trailers-only HEADERS, then RST_STREAM NO_ERROR or nothing
  });

  it('resets malformed requests (missing pseudo-headers, upper-case names, connection headers, te other than trailers) with PROTOCOL_ERROR', async () => {
    await start();
    const c = h2.client();
    const cases: Array<Array<readonly [string, string]>> = [
      grpcRequestFields('/t/Echo').filter(([n]) => n !== ':scheme'),
      [...grpcRequestFields('/t/Echo'), ['X-Upper', '1']],
      [...grpcRequestFields('/t/Echo'), ['connection', 'close']],
      grpcRequestFields('/t/Echo').map(([n, v]) => (n === 'te' ? [n, 'gzip'] : [n, v])),
      [['content-type', 'application/grpc'], ...grpcRequestFields('/t/Echo')],
    ];
    let id = 1;
    for (const fields of cases) {
      expect((await call(c, id, fields)).get('rst'), JSON.stringify(fields)).to.equal(String(ErrorCode.PROTOCOL_ERROR));
      id += 2;
    }
  });

  it('accepts any :authority, a socket path included', async () => {
    await start();
    const c = h2.client();
    for (const [id, authority] of [[1, '/run/containerd/containerd.sock'], [3, 'unix:///x y'], [5, '']] as const) {
      const h = await call(c, id, grpcRequestFields('/t/Echo').map(([n, v]) => (n === ':authority' ? [n, authority] : [n, v])));
      expect(h.get('grpc-status')).to.equal('0');
    }
  });

  it('parses grpc-timeout into the call deadline; a malformed one is INTERNAL', async () => {
    expect([parseGrpcTimeout('1S'), parseGrpcTimeout('250m'), parseGrpcTimeout('2M'), parseGrpcTimeout('1H'), parseGrpcTimeout('5000u'), parseGrpcTimeout('99999999n')]).to.deep.equal([1000, 250, 120000, 3600000, 5, 99.999999]);
    for (const bad of ['', '1', 'S', '123456789S', '1s', '-1S', '1.5S']) expect(parseGrpcTimeout(bad), bad).to.be.NaN;
    await start();
    const c = h2.client();
    const before = Date.now();
    c.frame(FrameType.HEADERS, END_HEADERS, 1, headerBlock(grpcRequestFields('/t/Hold', [['grpc-timeout', '3S']])));
    c.frame(FrameType.DATA, END_STREAM, 1, grpcMessage(Buffer.from('x')));
    await waitUntil(() => h2.log.held.length === 1);
    expect(h2.log.held[0].deadlineMs).to.be.within(before + 3000, Date.now() + 3000);
    expect((await call(c, 3, grpcRequestFields('/t/Echo', [['grpc-timeout', 'soon']]))).get('grpc-status')).to.equal('13');
  });

  it('answers a compressed message with UNIMPLEMENTED (gzip) or INTERNAL (no grpc-encoding); identity is fine', async () => {
    await start();
    const c = h2.client();
    const gz = await call(c, 1, grpcRequestFields('/t/Echo', [['grpc-encoding', 'gzip']]), grpcMessage(Buffer.from('x'), 1));
    expect(gz.get('grpc-status')).to.equal('12');
    const none = await call(c, 3, grpcRequestFields('/t/Echo'), grpcMessage(Buffer.from('x'), 1));
    expect(none.get('grpc-status')).to.equal('13');
    const identity = await call(c, 5, grpcRequestFields('/t/Echo', [['grpc-encoding', 'gzip']]), grpcMessage(Buffer.from('x')));
    expect(identity.get('grpc-status')).to.equal('0');
  });

  it('wants exactly one request message: none, two, or a cut one is INTERNAL; an empty message is fine', async () => {
    await start();
    const c = h2.client();
    expect((await call(c, 1, grpcRequestFields('/t/Echo'), null)).get('grpc-status')).to.equal('13');
    const two = Buffer.concat([grpcMessage(Buffer.from('a')), grpcMessage(Buffer.from('b'))]);
    expect((await call(c, 3, grpcRequestFields('/t/Echo'), two)).get('grpc-status')).to.equal('13');
    expect((await call(c, 5, grpcRequestFields('/t/Echo'), grpcMessage(Buffer.from('abc')).subarray(0, 6))).get('grpc-status')).to.equal('13');
    expect((await call(c, 7, grpcRequestFields('/t/Echo'), grpcMessage(Buffer.alloc(0)))).get('grpc-status')).to.equal('0');
  });

  it('percent-encodes grpc-message as the gRPC spec asks', async () => {
    expect(percentEncode('plain text: ok')).to.equal('plain text: ok');
    expect(percentEncode('100% é\n')).to.equal('100%25 %C3%A9%0A');
    await start();
    const c = h2.client();
    const h = await call(c, 1, grpcRequestFields('/t/Fail'), grpcMessage(Buffer.from('not found: ü%')));
    expect([h.get('grpc-status'), h.get('grpc-message')]).to.deep.equal(['5', 'not found: %C3%BC%25']);
  });

  it('streams with backpressure: a write waits while the client windows are full and goes on after WINDOW_UPDATE', async () => {
    await start({ streamMessages: 10, streamBytes: 50 });
    const c = h2.client([[SettingId.INITIAL_WINDOW_SIZE, 120]]);
    c.frame(FrameType.HEADERS, END_HEADERS, 1, headerBlock(grpcRequestFields('/t/Stream')));
    c.frame(FrameType.DATA, END_STREAM, 1, grpcMessage(Buffer.from('x')));
    await waitUntil(() => c.stream(1).filter((f) => f.type === FrameType.DATA).length >= 3);
    await new Promise((r) => setTimeout(r, 50));
    const dataBytes = () => c.stream(1).filter((f) => f.type === FrameType.DATA).reduce((n, f) => n + f.payload.length, 0);
    expect(dataBytes()).to.equal(120);
    expect(h2.log.written).to.be.lessThan(4);
    c.send(encodeSettings([[SettingId.INITIAL_WINDOW_SIZE, 65535]]));
    await c.waitFor((f) => f.streamId === 1 && f.type === FrameType.HEADERS && (f.flags & END_STREAM) !== 0);
    expect(dataBytes()).to.equal(550);
    expect(h2.log.written).to.equal(10);
  });

  it('wakes a waiting stream writer when the client cancels', async () => {
    await start({ streamMessages: 10, streamBytes: 50 });
    const c = h2.client([[SettingId.INITIAL_WINDOW_SIZE, 60]]);
    c.frame(FrameType.HEADERS, END_HEADERS, 1, headerBlock(grpcRequestFields('/t/Stream')));
    c.frame(FrameType.DATA, END_STREAM, 1, grpcMessage(Buffer.from('x')));
    await c.waitFor((f) => f.streamId === 1 && f.type === FrameType.DATA);
    c.frame(FrameType.RST_STREAM, 0, 1, u32(ErrorCode.CANCEL));
    c.frame(FrameType.PING, 0, 0, Buffer.alloc(8));
    await c.waitFor((f) => f.type === FrameType.PING);
    expect(h2.log.written).to.be.lessThan(3);
    expect(h2.srv.connections[0].activeStreams).to.equal(0);
  });
});

async function waitUntil(cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
