import { expect } from 'chai';
import { encodeInteger, HpackError, huffmanEncode } from '../hpack';
import { HpackDecoder } from './hpack-decoder';
import { httpErrorHeaders, OK_TRAILERS, RESPONSE_HEADERS, trailersOnly } from './hpack-encoder';

const hex = (s: string) => Buffer.from(s.replace(/\s/g, ''), 'hex');

describe('cri/transport/hpack-decoder (RFC 7541 Appendix C)', () => {
  it('decodes C.3 requests without Huffman, keeping the dynamic table across blocks', () => {
    const d = new HpackDecoder(4096, 65536);
    expect(d.decode(hex('828684410f7777772e6578616d706c652e636f6d')).fields).to.deep.equal([[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com']]);
    expect(d.decode(hex('828684be58086e6f2d6361636865')).fields).to.deep.equal([[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com'], ['cache-control', 'no-cache']]);
    expect(d.decode(hex('828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565')).fields).to.deep.equal([
      [':method', 'GET'], [':scheme', 'https'], [':path', '/index.html'], [':authority', 'www.example.com'], ['custom-key', 'custom-value'],
    ]);
    expect(d.tableLength).to.equal(3);
  });

  it('decodes C.4 requests with Huffman', () => {
    const d = new HpackDecoder(4096, 65536);
    expect(d.decode(hex('828684418cf1e3c2e5f23a6ba0ab90f4ff')).fields[3]).to.deep.equal([':authority', 'www.example.com']);
    expect(d.decode(hex('828684be5886a8eb10649cbf')).fields[4]).to.deep.equal(['cache-control', 'no-cache']);
    expect(d.decode(hex('828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf')).fields[4]).to.deep.equal(['custom-key', 'custom-value']);
  });

  it('remembers short Huffman literals without changing what decodes, and at most 128 of them', () => {
    const d = new HpackDecoder(4096, 65536);
    // Literal without indexing, name :path (static 4), Huffman value: what a gRPC client sends per call.
    const pathBlock = (p: string) => {
      const coded = huffmanEncode(Buffer.from(p, 'latin1'));
      return Buffer.concat([Buffer.from([0x04]), encodeInteger(coded.length, 7, 0x80), coded]);
    };
    for (let i = 0; i < 3; i++) expect(d.decode(pathBlock('/runtime.v1.RuntimeService/Version')).fields).to.deep.equal([[':path', '/runtime.v1.RuntimeService/Version']]);
    expect(d.rememberedLiterals).to.equal(1);
    for (let i = 0; i < 300; i++) expect(d.decode(pathBlock(`/p/${i}`)).fields).to.deep.equal([[':path', `/p/${i}`]]);
    expect(d.rememberedLiterals).to.be.at.most(128);
    // A bad code is still refused when it arrives again (failures are not remembered).
    const bad = Buffer.from([0x04, 0x81, 0x00]);
    for (let i = 0; i < 2; i++) expect(() => d.decode(bad)).to.throw(HpackError);
    // Literals longer than 64 octets always take the general path.
    const long = '/x'.repeat(60);
    expect(d.decode(pathBlock(long)).fields).to.deep.equal([[':path', long]]);
  });

  it('evicts the oldest entries past the table size (C.5 with a 256-octet table)', () => {
    const d = new HpackDecoder(256, 65536);
    d.decode(hex('4803333032580770726976617465611d4d6f6e2c203231204f637420323031332032303a31333a323120474d546e1768747470733a2f2f7777772e6578616d706c652e636f6d'));
    expect(d.tableLength).to.equal(4);
    const second = d.decode(hex('4803333037c1c0bf')).fields;
    expect(second).to.deep.equal([[':status', '307'], ['cache-control', 'private'], ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'], ['location', 'https://www.example.com']]);
    expect(d.tableLength).to.equal(4);
  });

  it('applies size updates at the start of a block; refuses one above SETTINGS or after a field, and bad indices', () => {
    const d = new HpackDecoder(4096, 65536);
    d.decode(hex('410f7777772e6578616d706c652e636f6d'));
    expect(d.tableLength).to.equal(1);
    d.decode(encodeInteger(0, 5, 0x20));
    expect(d.tableLength).to.equal(0);
    expect(() => d.decode(hex('be'))).to.throw(HpackError, /out of range/);
    expect(() => d.decode(encodeInteger(4097, 5, 0x20))).to.throw(HpackError, /exceeds 4096/);
    expect(() => d.decode(Buffer.concat([hex('82'), encodeInteger(100, 5, 0x20)]))).to.throw(HpackError, /after a header field/);
    expect(() => d.decode(hex('80'))).to.throw(HpackError);
  });

  it('marks a block that decodes past the header list limit as oversized, and still updates the table', () => {
    const d = new HpackDecoder(4096, 100);
    const name = Buffer.from('x-long');
    const value = Buffer.alloc(80, 'v');
    const block = Buffer.concat([hex('82'), Buffer.from([0x40, name.length]), name, Buffer.from([value.length]), value]);
    const out = d.decode(block);
    expect(out.oversized).to.equal(true);
    expect(out.fields).to.deep.equal([]);
    expect(d.tableLength).to.equal(1);
    // The same entry by index, 1 byte per 118 decoded octets: still counted.
    expect(d.decode(hex('bebebe')).oversized).to.equal(true);
    expect(d.decode(hex('82')).oversized).to.equal(false);
  });

  it('encodes the response blocks with static indices and literals the decoder reads back', () => {
    const d = new HpackDecoder(4096, 65536);
    expect(d.decode(RESPONSE_HEADERS).fields).to.deep.equal([[':status', '200'], ['content-type', 'application/grpc']]);
    expect(d.decode(OK_TRAILERS).fields).to.deep.equal([['grpc-status', '0']]);
    expect(d.decode(trailersOnly(5, 'gone: 100%')).fields).to.deep.equal([[':status', '200'], ['content-type', 'application/grpc'], ['grpc-status', '5'], ['grpc-message', 'gone: 100%25']]);
    expect(d.decode(httpErrorHeaders(415, 13, 'x')).fields[0]).to.deep.equal([':status', '415']);
    expect(d.tableLength).to.equal(0);
  });
});
