/**
 * Fuzz target: the HTTP/2 `:authority` rewrite (cri/header-block-rewrite.ts, cri/hpack.ts,
 * cri/http2-authority-rewrite.ts) on arbitrary HPACK header blocks and client byte streams.
 *
 * Oracle: an HPACK decoder written here from RFC 7541 (static table with values, dynamic table
 * with eviction and the 4096-byte size limit of Node's server; only the Huffman code is shared).
 * Property: the input is cut into two blocks of one connection; whenever the oracle decodes them,
 * the rewriter must accept them too, and the oracle decoding the rewritten blocks on a fresh
 * connection must give the same header list with every invalid `:authority` value replaced by
 * `replacementFor(its length)`. The rewriter may only fail with HpackError. The framing layer
 * must give the same bytes however the stream is split, and fail only with its typed errors.
 */
import fc from 'fast-check';
import { HeaderBlockRewriter, isValidAuthority, replacementFor } from '../../../cri/header-block-rewrite';
import { encodeInteger, HpackError, huffmanDecode, huffmanEncode } from '../../../cri/hpack';
import { AuthorityRewriter, Http2FramingError } from '../../../cri/http2-authority-rewrite';
import type { FuzzTarget } from '../target';
import { http2Frame } from '../../../cri/testing/frame-fixtures';

// prettier-ignore
const STATIC: ReadonlyArray<readonly [string, string]> = [
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
const TABLE_LIMIT = 4096;

class OracleError extends Error {}

/** One connection's HPACK decoder (RFC 7541), values as latin1 strings. */
class Oracle {
  private dynamic: Array<[string, string]> = [];
  private size = 0;
  private max = TABLE_LIMIT;

  decode(block: Buffer): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    let pos = 0;
    const int = (prefix: number): number => {
      if (pos >= block.length) throw new OracleError('truncated');
      const mask = (1 << prefix) - 1;
      let v = block[pos++] & mask;
      if (v < mask) return v;
      for (let m = 0; ; m += 7) {
        if (pos >= block.length) throw new OracleError('truncated');
        const b = block[pos++];
        v += (b & 0x7f) * 2 ** m;
        if (v > 0xffffffff) throw new OracleError('integer too large');
        if ((b & 0x80) === 0) return v;
      }
    };
    const str = (): string => {
      if (pos >= block.length) throw new OracleError('truncated');
      const huffman = (block[pos] & 0x80) !== 0;
      const len = int(7);
      if (pos + len > block.length) throw new OracleError('truncated');
      const raw = block.subarray(pos, pos + len);
      pos += len;
      try {
        return (huffman ? huffmanDecode(raw) : raw).toString('latin1');
      } catch {
        throw new OracleError('bad huffman');
      }
    };
    const entry = (index: number): [string, string] => {
      if (index >= 1 && index <= STATIC.length) return [...STATIC[index - 1]];
      const e = this.dynamic[index - STATIC.length - 1];
      if (index < 1 || !e) throw new OracleError(`index ${index}`);
      return [...e];
    };
    while (pos < block.length) {
      const b = block[pos];
      if (b & 0x80) {
        const index = int(7);
        if (index === 0) throw new OracleError('index 0');
        out.push(entry(index));
      } else if ((b & 0xe0) === 0x20) {
        const max = int(5);
        if (max > TABLE_LIMIT) throw new OracleError('table size');
        this.max = max;
        this.evict();
      } else {
        const incremental = (b & 0xc0) === 0x40;
        const index = int(incremental ? 6 : 4);
        const name = index === 0 ? str() : entry(index)[0];
        const value = str();
        out.push([name, value]);
        if (incremental) {
          this.dynamic.unshift([name, value]);
          this.size += name.length + value.length + 32;
          this.evict();
        }
      }
    }
    return out;
  }

  private evict(): void {
    while (this.size > this.max && this.dynamic.length > 0) {
      const [n, v] = this.dynamic.pop() as [string, string];
      this.size -= n.length + v.length + 32;
    }
  }
}

function decodeAll(blocks: Buffer[]): Array<Array<[string, string]>> | undefined {
  const oracle = new Oracle();
  try {
    return blocks.map((b) => oracle.decode(b));
  } catch (err) {
    if (err instanceof OracleError) return undefined;
    throw err;
  }
}

function checkBlocks(blocks: Buffer[]): void {
  const expected = decodeAll(blocks)?.map((list) =>
    list.map(([n, v]): [string, string] => (n === ':authority' && !isValidAuthority(v) ? [n, replacementFor(v.length)] : [n, v])),
  );
  const rewriter = new HeaderBlockRewriter();
  const rewritten: Buffer[] = [];
  for (const block of blocks) {
    try {
      rewritten.push(rewriter.rewrite(block).block);
    } catch (err) {
      if (!(err instanceof HpackError)) throw new Error(`rewrite threw ${String(err)}`, { cause: err });
      if (expected) throw new Error(`rewrite refused blocks that decode: ${err.message}`);
      return;
    }
  }
  if (!expected) return;
  const got = decodeAll(rewritten);
  if (!got) throw new Error('the rewritten blocks do not decode');
  if (JSON.stringify(got) !== JSON.stringify(expected)) {
    throw new Error(`rewritten headers differ: ${JSON.stringify(got).slice(0, 300)} vs expected ${JSON.stringify(expected).slice(0, 300)}`);
  }
}

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** The framing layer on PREFACE + bytes, whole and in chunks of `size`: same output or same typed failure. */
function framed(bytes: Buffer, size: number): string {
  const w = new AuthorityRewriter();
  const out: Buffer[] = [];
  const stream = Buffer.concat([PREFACE, bytes]);
  try {
    for (let off = 0; off < stream.length; off += size) out.push(w.push(stream.subarray(off, off + size)));
  } catch (err) {
    if (!(err instanceof Http2FramingError) && !(err instanceof HpackError)) throw new Error(`AuthorityRewriter threw ${String(err)}`, { cause: err });
    return `error ${err.message}`;
  }
  return Buffer.concat(out).toString('hex');
}


function str(value: string, huffman = false): Buffer {
  const bytes = huffman ? huffmanEncode(Buffer.from(value, 'latin1')) : Buffer.from(value, 'latin1');
  return Buffer.concat([encodeInteger(bytes.length, 7, huffman ? 0x80 : 0), bytes]);
}
const litIdx = (nameIndex: number, value: string, huffman = false) => Buffer.concat([encodeInteger(nameIndex, 6, 0x40), str(value, huffman)]);
const litNew = (name: string, value: string) => Buffer.concat([Buffer.from([0x40]), str(name), str(value)]);
const litNoIdx = (nameIndex: number, value: string) => Buffer.concat([encodeInteger(nameIndex, 4, 0x00), str(value)]);
const indexed = (index: number) => encodeInteger(index, 7, 0x80);
const SOCK = '/run/berth/berth.sock';
const grpc = (authority: Buffer) => Buffer.concat([indexed(3), indexed(6), litIdx(4, '/runtime.v1.RuntimeService/Version'), authority, litNew('content-type', 'application/grpc'), litNew('te', 'trailers')]);

/** Input layout: first byte picks where the second block starts; the rest is the two blocks. */
function asInput(first: Buffer, second: Buffer): Uint8Array {
  return new Uint8Array(Buffer.concat([Buffer.from([first.length % 256]), first, second]));
}

export const target: FuzzTarget = {
  name: 'hpack-authority',
  seeds: () => [
    asInput(grpc(litIdx(1, SOCK)), Buffer.concat([indexed(3), indexed(65), indexed(64), indexed(63), indexed(62)])),
    asInput(grpc(litIdx(1, SOCK, true)), Buffer.concat([indexed(3), litNoIdx(64, '/other.sock')])),
    asInput(grpc(litIdx(1, 'localhost:10250')), grpc(litNoIdx(1, 'unix:///x'))),
    asInput(Buffer.concat([litIdx(1, SOCK), encodeInteger(0, 5, 0x20)]), litNoIdx(62, 'x')),
    asInput(encodeInteger(4097, 5, 0x20), Buffer.alloc(0)),
    asInput(Buffer.concat([http2Frame(0x4, 0, 0, Buffer.alloc(0)), http2Frame(0x1, 0x4, 1, grpc(litIdx(1, SOCK)))]), http2Frame(0x0, 0x1, 1, Buffer.from('00000000020a00', 'hex'))),
  ],
  async run(input: Uint8Array): Promise<void> {
    const bytes = Buffer.from(input);
    const cut = bytes.length > 0 ? 1 + Math.min(bytes[0], bytes.length - 1) : 0;
    checkBlocks([bytes.subarray(1, cut), bytes.subarray(cut)]);
    checkBlocks([bytes]);
    const whole = framed(bytes, bytes.length + PREFACE.length);
    for (const size of [1, 13, 500]) {
      const split = framed(bytes, size);
      if (split !== whole) throw new Error(`chunks of ${size} bytes give ${split.slice(0, 120)} instead of ${whole.slice(0, 120)}`);
    }
  },
  arbitrary: fc
    .tuple(
      fc.array(
        fc.oneof(
          fc.integer({ min: 1, max: 70 }).map(indexed),
          fc.tuple(fc.integer({ min: 0, max: 70 }), fc.constantFrom(SOCK, 'localhost', '', 'a:1', '/x', 'h@st', 'ü'), fc.boolean()).map(([i, v, h]) => (i === 0 ? litNew(':authority', v) : litIdx(i, v, h))),
          fc.tuple(fc.integer({ min: 1, max: 70 }), fc.string({ maxLength: 20 })).map(([i, v]) => litNoIdx(i, v)),
          fc.integer({ min: 0, max: 4200 }).map((n) => encodeInteger(n, 5, 0x20)),
        ),
        { maxLength: 10 },
      ),
      fc.array(fc.integer({ min: 1, max: 70 }).map(indexed), { maxLength: 6 }),
    )
    .map(([a, b]) => asInput(Buffer.concat(a), Buffer.concat(b))),
  budgetMs: 2000,
};
