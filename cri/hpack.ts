/**
 * HPACK (RFC 7541) primitives: prefixed integers, string literals (raw or Huffman), the canonical
 * Huffman code and the static table. The stateful decoder is transport/hpack-decoder.ts.
 */

/** Code length in bits of each symbol 0..255 and EOS (256), RFC 7541 Appendix B. */
// prettier-ignore
const HUFFMAN_CODE_LENGTHS: readonly number[] = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  30,
];

/** An HPACK decoding/encoding failure (the connection must be dropped). */
export class HpackError extends Error {
  override readonly name = 'HpackError';
}

interface HuffmanCode {
  code: number;
  bits: number;
}

/** The HPACK Huffman code is canonical, so lengths alone determine every code. */
function buildCanonicalCodes(lengths: readonly number[]): HuffmanCode[] {
  const symbols = lengths.map((bits, symbol) => ({ bits, symbol })).sort((a, b) => a.bits - b.bits || a.symbol - b.symbol);
  const codes: HuffmanCode[] = new Array(lengths.length);
  let code = 0;
  let prevBits = symbols[0].bits;
  for (const { bits, symbol } of symbols) {
    code *= 2 ** (bits - prevBits);
    prevBits = bits;
    codes[symbol] = { code, bits };
    code += 1;
  }
  return codes;
}

/** The code of each symbol 0..256. */
export const HUFFMAN_CODES: readonly HuffmanCode[] = buildCanonicalCodes(HUFFMAN_CODE_LENGTHS);

/** Binary decoding tree: children index pairs, negative numbers are leaves (-(symbol + 1)). */
const huffmanTree: Int32Array = (() => {
  const tree: number[] = [0, 0];
  HUFFMAN_CODES.forEach(({ code, bits }, symbol) => {
    let node = 0;
    for (let i = bits - 1; i >= 0; i--) {
      const bit = Math.floor(code / 2 ** i) & 1;
      const slot = node * 2 + bit;
      if (i === 0) tree[slot] = -(symbol + 1);
      else {
        if (tree[slot] === 0) {
          tree.push(0, 0);
          tree[slot] = tree.length / 2 - 1;
        }
        node = tree[slot];
      }
    }
  });
  return Int32Array.from(tree);
})();

/** Decodes a Huffman-coded string (RFC 7541 5.2): padding must be < 8 bits of EOS prefix. */
export function huffmanDecode(data: Uint8Array): Buffer {
  const out: number[] = [];
  let node = 0;
  let depth = 0;
  let allOnes = true;
  for (const byte of data) {
    for (let i = 7; i >= 0; i--) {
      const bit = (byte >> i) & 1;
      const next = huffmanTree[node * 2 + bit];
      depth += 1;
      allOnes = allOnes && bit === 1;
      if (next < 0) {
        const symbol = -next - 1;
        if (symbol === 256) throw new HpackError('Huffman string contains EOS');
        out.push(symbol);
        node = 0;
        depth = 0;
        allOnes = true;
      } else if (next === 0) {
        throw new HpackError('invalid Huffman code');
      } else {
        node = next;
      }
    }
  }
  if (depth > 7 || !allOnes) throw new HpackError('invalid Huffman padding');
  return Buffer.from(out);
}

/** Huffman-encodes `data` (pads with EOS-prefix ones). */
export function huffmanEncode(data: Uint8Array): Buffer {
  const out: number[] = [];
  let acc = 0;
  let accBits = 0;
  for (const byte of data) {
    const { code, bits } = HUFFMAN_CODES[byte];
    for (let i = bits - 1; i >= 0; i--) {
      acc = (acc << 1) | (Math.floor(code / 2 ** i) & 1);
      accBits += 1;
      if (accBits === 8) {
        out.push(acc);
        acc = 0;
        accBits = 0;
      }
    }
  }
  if (accBits > 0) out.push(((acc << (8 - accBits)) | ((1 << (8 - accBits)) - 1)) & 0xff);
  return Buffer.from(out);
}

/** Decodes a prefixed integer (RFC 7541 5.1) starting at `pos`. */
export function decodeInteger(buf: Uint8Array, pos: number, prefixBits: number): { value: number; next: number } {
  if (pos >= buf.length) throw new HpackError('truncated integer');
  const max = (1 << prefixBits) - 1;
  let value = buf[pos] & max;
  let next = pos + 1;
  if (value < max) return { value, next };
  let shift = 0;
  for (;;) {
    if (next >= buf.length) throw new HpackError('truncated integer');
    const b = buf[next++];
    value += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if (value > 0xffffffff) throw new HpackError('integer too large');
    if ((b & 0x80) === 0) return { value, next };
  }
}

/** Encodes a prefixed integer; `flags` fills the bits above the prefix in the first byte. */
export function encodeInteger(value: number, prefixBits: number, flags: number): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([flags | value]);
  const out = [flags | max];
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest % 128) | 0x80);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return Buffer.from(out);
}

/** A string literal (RFC 7541 5.2) of latin1 `text`, Huffman-coded when asked. */
function encodeStringLiteral(text: string, huffman = false): Buffer {
  const raw = Buffer.from(text, 'latin1');
  const bytes = huffman ? huffmanEncode(raw) : raw;
  return Buffer.concat([encodeInteger(bytes.length, 7, huffman ? 0x80 : 0), bytes]);
}

/**
 * A literal header field (RFC 7541 6.2): `name` as a table index or a literal; `indexing` adds the
 * field to the decoder's dynamic table (6.2.1), otherwise it is sent without indexing (6.2.2).
 */
export function encodeLiteralField(name: number | string, value: string, opts: { indexing?: boolean; huffmanValue?: boolean } = {}): Buffer {
  const [prefixBits, flags] = opts.indexing ? [6, 0x40] : [4, 0x00];
  const head = typeof name === 'number' ? encodeInteger(name, prefixBits, flags) : Buffer.concat([Buffer.from([flags]), encodeStringLiteral(name)]);
  return Buffer.concat([head, encodeStringLiteral(value, opts.huffmanValue)]);
}

/** Reads the string literal at `pos` (RFC 7541 5.2) as a latin1 string. */
export function readStringLiteral(buf: Buffer, pos: number): { value: string; next: number } {
  if (pos >= buf.length) throw new HpackError('truncated string');
  const huffman = (buf[pos] & 0x80) !== 0;
  const { value: length, next } = decodeInteger(buf, pos, 7);
  const end = next + length;
  if (end > buf.length) throw new HpackError('truncated string');
  const value = huffman ? huffmanDecode(buf.subarray(next, end)).toString('latin1') : buf.toString('latin1', next, end);
  return { value, next: end };
}

/** The HPACK static table (RFC 7541 Appendix A), index 1..61 at positions 0..60. */
// prettier-ignore
export const STATIC_TABLE: ReadonlyArray<readonly [string, string]> = [
  [':authority', ''], [':method', 'GET'], [':method', 'POST'], [':path', '/'], [':path', '/index.html'],
  [':scheme', 'http'], [':scheme', 'https'], [':status', '200'], [':status', '204'], [':status', '206'],
  [':status', '304'], [':status', '400'], [':status', '404'], [':status', '500'], ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'], ['accept-language', ''], ['accept-ranges', ''], ['accept', ''],
  ['access-control-allow-origin', ''], ['age', ''], ['allow', ''], ['authorization', ''], ['cache-control', ''],
  ['content-disposition', ''], ['content-encoding', ''], ['content-language', ''], ['content-length', ''],
  ['content-location', ''], ['content-range', ''], ['content-type', ''], ['cookie', ''], ['date', ''], ['etag', ''],
  ['expect', ''], ['expires', ''], ['from', ''], ['host', ''], ['if-match', ''], ['if-modified-since', ''],
  ['if-none-match', ''], ['if-range', ''], ['if-unmodified-since', ''], ['last-modified', ''], ['link', ''],
  ['location', ''], ['max-forwards', ''], ['proxy-authenticate', ''], ['proxy-authorization', ''], ['range', ''],
  ['referer', ''], ['refresh', ''], ['retry-after', ''], ['server', ''], ['set-cookie', ''],
  ['strict-transport-security', ''], ['transfer-encoding', ''], ['user-agent', ''], ['vary', ''], ['via', ''],
  ['www-authenticate', ''],
];
