/**
 * Fuzz target: the server's HPACK decoder (cri/transport/hpack-decoder.ts) on arbitrary header
 * blocks of one connection. Properties: it fails only with HpackError; the fields of a block that
 * decodes respect the header list limit exactly (RFC 9113 accounting), or the block is marked
 * oversized with no fields; a Huffman-coded literal decodes to what a raw one gives.
 */
import fc from 'fast-check';
import { encodeInteger, HpackError, huffmanEncode } from '../../../cri/hpack';
import { HpackDecoder } from '../../../cri/transport/hpack-decoder';
import type { FuzzTarget } from '../target';

const LIST_LIMIT = 2048;

function str(value: Buffer, huffman: boolean): Buffer {
  const bytes = huffman ? huffmanEncode(value) : value;
  return Buffer.concat([encodeInteger(bytes.length, 7, huffman ? 0x80 : 0), bytes]);
}

function decodeAll(blocks: Buffer[]): string {
  const decoder = new HpackDecoder(4096, LIST_LIMIT);
  const out: string[] = [];
  for (const block of blocks) {
    try {
      const { fields, oversized } = decoder.decode(block);
      const size = fields.reduce((n, [a, b]) => n + a.length + b.length + 32, 0);
      if (oversized ? fields.length > 0 : size > LIST_LIMIT) throw new Error(`header list of ${size} bytes, oversized=${oversized}`);
      out.push(JSON.stringify(fields));
    } catch (err) {
      if (!(err instanceof HpackError)) throw new Error(`decoder threw ${String(err)}`, { cause: err });
      out.push(`error ${err.message}`);
      break;
    }
  }
  return out.join('\n');
}

export const target: FuzzTarget = {
  name: 'hpack-decoder',
  seeds: () => [
    Buffer.from('828684410f7777772e6578616d706c652e636f6d', 'hex'),
    Buffer.from('828684418cf1e3c2e5f23a6ba0ab90f4ff828684be5886a8eb10649cbf', 'hex'),
    Buffer.concat([encodeInteger(0, 5, 0x20), Buffer.from('be', 'hex')]),
    Buffer.concat([Buffer.from([0x40]), str(Buffer.from('x-a'), false), str(Buffer.alloc(3000, 'v'), true), Buffer.from('bebe', 'hex')]),
  ],
  async run(input: Uint8Array): Promise<void> {
    const bytes = Buffer.from(input);
    const cut = bytes.length > 0 ? 1 + Math.min(bytes[0], bytes.length - 1) : 0;
    decodeAll([bytes.subarray(1, cut), bytes.subarray(cut)]);
    decodeAll([bytes]);
    // The same literal raw and Huffman-coded decodes to the same field.
    const value = bytes.subarray(0, 64);
    const raw = decodeAll([Buffer.concat([Buffer.from([0x00]), str(Buffer.from('k'), false), str(value, false)])]);
    const huff = decodeAll([Buffer.concat([Buffer.from([0x00]), str(Buffer.from('k'), true), str(value, true)])]);
    if (raw !== huff) throw new Error(`Huffman literal decodes to ${huff.slice(0, 100)} instead of ${raw.slice(0, 100)}`);
  },
  arbitrary: fc
    .array(
      fc.oneof(
        fc.integer({ min: 1, max: 70 }).map((i) => encodeInteger(i, 7, 0x80)),
        fc.tuple(fc.integer({ min: 0, max: 70 }), fc.uint8Array({ maxLength: 200 }), fc.boolean()).map(([i, v, h]) => Buffer.concat([encodeInteger(i, 6, 0x40), ...(i === 0 ? [str(Buffer.from('x-n'), h)] : []), str(Buffer.from(v), h)])),
        fc.tuple(fc.integer({ min: 1, max: 70 }), fc.uint8Array({ maxLength: 50 })).map(([i, v]) => Buffer.concat([encodeInteger(i, 4, 0x10), str(Buffer.from(v), false)])),
        fc.integer({ min: 0, max: 4200 }).map((n) => encodeInteger(n, 5, 0x20)),
      ),
      { maxLength: 30 },
    )
    .map((parts) => new Uint8Array(Buffer.concat([Buffer.from([0]), ...parts]))),
  budgetMs: 2000,
};
