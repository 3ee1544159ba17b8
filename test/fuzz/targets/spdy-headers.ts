/**
 * Fuzz target: SPDY/3 name/value header blocks, raw and zlib-compressed with the SPDY dictionary.
 * Properties: parsing throws only SpdyProtocolError, and what parses serialises and parses back
 * to the same headers; inflating (one block, then the rest of the input as the connection's next
 * block) resolves or fails with SpdyProtocolError, never yields more than the decoded-block limit,
 * and stays within the time budget even for decompression bombs.
 */
import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';
import * as zlib from 'node:zlib';
import { SPDY3_DICTIONARY } from '../../../cri/streaming/spdy/dictionary';
import { MAX_HEADER_BLOCK_BYTES, SpdyProtocolError } from '../../../cri/streaming/spdy/frames';
import { HeaderDecompressor, parseHeaderBlock, serializeHeaderBlock, type SpdyHeaders } from '../../../cri/streaming/spdy/header-codec';
import type { FuzzTarget } from '../target';

/** A connection's first compressed block, as a peer's zlib context produces it. */
function compressed(raw: Buffer): Buffer {
  return zlib.deflateSync(raw, { dictionary: SPDY3_DICTIONARY, finishFlush: zlib.constants.Z_SYNC_FLUSH });
}

/** A block whose one value is `bytes` zeros: a decompression bomb (about 1 KiB per MiB). */
function bomb(bytes: number): Buffer {
  const head = Buffer.alloc(13);
  head.writeUInt32BE(1, 0);
  head.writeUInt32BE(1, 4);
  head.write('x', 8);
  head.writeUInt32BE(bytes, 9);
  return compressed(Buffer.concat([head, Buffer.alloc(bytes)]));
}

function serializedSize(h: SpdyHeaders): number {
  return serializeHeaderBlock(h).length;
}

function checkRaw(block: Buffer): void {
  let headers: SpdyHeaders;
  try {
    headers = parseHeaderBlock(block);
  } catch (err) {
    if (err instanceof SpdyProtocolError) return;
    throw new Error(`parseHeaderBlock threw ${String(err)}`, { cause: err });
  }
  const again = parseHeaderBlock(serializeHeaderBlock(headers));
  if (!isDeepStrictEqual({ ...again }, { ...headers })) throw new Error(`round trip changed ${JSON.stringify(headers).slice(0, 200)} into ${JSON.stringify(again).slice(0, 200)}`);
}

/** Inflates `blocks` in order on one connection context; stops at the first (typed) failure. */
async function checkCompressed(blocks: Buffer[]): Promise<void> {
  const d = new HeaderDecompressor();
  try {
    for (const block of blocks) {
      let headers: SpdyHeaders;
      try {
        headers = await d.decompress(block);
      } catch (err) {
        if (err instanceof SpdyProtocolError) return;
        throw new Error(`decompress threw ${String(err)}`, { cause: err });
      }
      const size = serializedSize(headers);
      // Re-serialising can only shrink a block (repeated names merge), so this is the limit.
      if (size > MAX_HEADER_BLOCK_BYTES) throw new Error(`a ${block.length}-byte block decoded to ${size} bytes`);
    }
  } finally {
    d.close();
  }
}

export const target: FuzzTarget = {
  name: 'spdy-headers',
  seeds: () => [
    serializeHeaderBlock({ streamtype: ['error'], port: ['80', '81'] }),
    compressed(serializeHeaderBlock({ streamtype: ['data'], port: ['80'], requestid: ['0'] })),
    compressed(serializeHeaderBlock({ streamtype: ['stdout'] })),
    Buffer.from('0000000100000005ab', 'hex'), // truncated
    Buffer.from('00000001' + '00000001' + '41' + '00000000', 'hex'), // upper-case name
    Buffer.from('not zlib at all'),
    bomb(4 * 1024 * 1024),
  ],
  async run(input: Uint8Array): Promise<void> {
    const bytes = Buffer.from(input);
    checkRaw(bytes);
    const cut = bytes.length > 0 ? bytes[0] % (bytes.length + 1) : 0;
    await checkCompressed([bytes]);
    await checkCompressed([bytes.subarray(0, cut), bytes.subarray(cut)]);
  },
  arbitrary: fc
    .tuple(
      fc.dictionary(fc.stringMatching(/^[a-z:][a-z0-9-]{0,15}$/), fc.array(fc.string({ maxLength: 24 }).filter((s) => !s.includes('\0')), { minLength: 1, maxLength: 3 }), { maxKeys: 6 }),
      fc.boolean(),
    )
    .map(([headers, deflate]) => {
      const raw = serializeHeaderBlock(headers);
      return new Uint8Array(deflate ? compressed(raw) : raw);
    }),
  budgetMs: 2000,
};
