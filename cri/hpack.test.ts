import { expect } from 'chai';
import { decodeInteger, encodeInteger, HpackError, HUFFMAN_CODES, huffmanDecode, huffmanEncode, readStringLiteral } from './hpack';

describe('cri/hpack', () => {
  describe('prefixed integers (RFC 7541 C.1)', () => {
    it('encodes 10 in a 5-bit prefix as one byte', () => {
      expect(encodeInteger(10, 5, 0).toString('hex')).to.equal('0a');
    });
    it('encodes 1337 in a 5-bit prefix as 1f 9a 0a', () => {
      expect(encodeInteger(1337, 5, 0).toString('hex')).to.equal('1f9a0a');
    });
    it('keeps the flag bits above the prefix', () => {
      expect(encodeInteger(1, 6, 0x40).toString('hex')).to.equal('41');
    });
    it('decodes what it encodes, for values around prefix limits', () => {
      for (const prefix of [4, 5, 6, 7]) {
        for (const v of [0, 1, (1 << prefix) - 2, (1 << prefix) - 1, 1 << prefix, 127, 128, 300, 16384, 2 ** 21 + 5]) {
          const bytes = encodeInteger(v, prefix, 0);
          expect(decodeInteger(bytes, 0, prefix)).to.deep.equal({ value: v, next: bytes.length });
        }
      }
    });
    it('rejects a truncated continuation', () => {
      expect(() => decodeInteger(Buffer.from([0x1f, 0x9a]), 0, 5)).to.throw(HpackError);
    });
  });

  describe('Huffman code', () => {
    it('derives the RFC 7541 Appendix B codes from the code lengths', () => {
      const expected: Record<number, [number, number]> = {
        0: [0x1ff8, 13],
        10: [0x3ffffffc, 30],
        32: [0x14, 6],
        47: [0x18, 6],
        97: [0x3, 5],
        127: [0xffffffc, 28],
        255: [0x3ffffee, 26],
        256: [0x3fffffff, 30],
      };
      for (const [symbol, [code, bits]] of Object.entries(expected)) {
        expect(HUFFMAN_CODES[Number(symbol)], `symbol ${symbol}`).to.deep.equal({ code, bits });
      }
    });
    it('matches the RFC 7541 C.4.1 example for www.example.com', () => {
      expect(huffmanEncode(Buffer.from('www.example.com')).toString('hex')).to.equal('f1e3c2e5f23a6ba0ab90f4ff');
      expect(huffmanDecode(Buffer.from('f1e3c2e5f23a6ba0ab90f4ff', 'hex')).toString()).to.equal('www.example.com');
    });
    it('round-trips every byte value', () => {
      const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      expect(huffmanDecode(huffmanEncode(all)).equals(all)).to.equal(true);
    });
    it('rejects padding longer than 7 bits', () => {
      expect(() => huffmanDecode(Buffer.from([0xff]))).to.throw(HpackError);
    });
    it('rejects padding that is not all ones', () => {
      // 'a' is 00011 (5 bits); padding 000 is invalid.
      expect(() => huffmanDecode(Buffer.from([0b00011000]))).to.throw(HpackError, /padding/);
    });
  });

  describe('string literals', () => {
    it('reads raw and Huffman literals', () => {
      const raw = Buffer.concat([Buffer.from([0x03]), Buffer.from('abc')]);
      expect(readStringLiteral(raw, 0).value).to.equal('abc');
      const h = huffmanEncode(Buffer.from('/run/berth/berth.sock'));
      const lit = Buffer.concat([encodeInteger(h.length, 7, 0x80), h]);
      const parsed = readStringLiteral(lit, 0);
      expect(parsed.next).to.equal(lit.length);
      expect(parsed.value).to.equal('/run/berth/berth.sock');
    });
    it('rejects a literal longer than the block', () => {
      expect(() => readStringLiteral(Buffer.from([0x05, 0x61]), 0)).to.throw(HpackError);
    });
  });
});
