import { expect } from 'chai';
import { encodeDataFrame, encodePing, encodeSynStream, encodeWindowUpdate, FrameParser, SpdyProtocolError } from './frames';
import { spdyFrameOfEachKind } from '../../testing/frame-fixtures';

describe('spdy/frames', () => {
  it('lays out a SYN_STREAM control frame as the spec draws it', () => {
    const f = encodeSynStream(5, Buffer.from([0xaa, 0xbb]), { fin: true, priority: 3 });
    expect(f.toString('hex')).to.equal(
      '8003' + '0001' + '01' + '00000c' + '00000005' + '00000000' + '60' + '00' + 'aabb',
    );
  });

  it('lays out data frames with the FIN flag and 24-bit length', () => {
    expect(encodeDataFrame(7, Buffer.from('hi'), false).toString('hex')).to.equal('00000007' + '00' + '000002' + '6869');
    expect(encodeDataFrame(7, Buffer.alloc(0), true).toString('hex')).to.equal('00000007' + '01' + '000000');
  });

  it('round-trips every frame type through the parser', () => {
    const frames = spdyFrameOfEachKind(encodeSynStream(1, Buffer.from('hb'), { unidirectional: true }));
    const p = new FrameParser();
    const out = p.push(frames);
    expect(out.map((f) => f.type)).to.deep.equal(['syn_stream', 'syn_reply', 'rst_stream', 'settings', 'ping', 'goaway', 'window_update', 'data']);
    expect(out[0]).to.include({ streamId: 1, flags: 2 });
    expect(out[1]).to.include({ streamId: 1, flags: 1 });
    expect(out[2]).to.include({ streamId: 3, status: 5 });
    expect(out[3]).to.deep.equal({ type: 'settings', flags: 0, entries: [{ flags: 0, id: 7, value: 1 << 20 }, { flags: 1, id: 4, value: 100 }] });
    expect(out[4]).to.deep.equal({ type: 'ping', id: 42 });
    expect(out[5]).to.deep.equal({ type: 'goaway', lastGoodStreamId: 9, status: 1 });
    expect(out[6]).to.deep.equal({ type: 'window_update', streamId: 0, delta: 65536 });
    expect(out[7]).to.deep.include({ type: 'data', streamId: 1, flags: 1 });
    expect(p.pendingBytes).to.equal(0);
  });

  it('reassembles frames split at every byte boundary', () => {
    const bytes = Buffer.concat([encodePing(1), encodeDataFrame(3, Buffer.from('abcdef'), false), encodeWindowUpdate(3, 10)]);
    const p = new FrameParser();
    const seen = [];
    for (const b of bytes) seen.push(...p.push(Buffer.from([b])));
    expect(seen.map((f) => f.type)).to.deep.equal(['ping', 'data', 'window_update']);
    expect((seen[1] as { data: Buffer }).data.toString()).to.equal('abcdef');
  });

  it('ignores unknown control frame types and rejects other SPDY versions', () => {
    const unknown = Buffer.from('8003000a00000000', 'hex');
    expect(new FrameParser().push(unknown)[0]).to.include({ type: 'unknown', frameType: 10 });
    const v2 = Buffer.from('8002000600000004' + '00000001', 'hex');
    expect(() => new FrameParser().push(v2)).to.throw(SpdyProtocolError, /version 2/);
  });

  it('rejects a truncated control payload and an oversized frame', () => {
    expect(() => new FrameParser().push(Buffer.from('8003000300000002' + '0000', 'hex'))).to.throw(SpdyProtocolError);
    expect(() => new FrameParser(1024).push(Buffer.from('0000000100000800', 'hex'))).to.throw(SpdyProtocolError, /exceeds/);
  });
});
