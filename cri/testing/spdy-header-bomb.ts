/**
 * Builds SPDY header-block decompression bombs for tests and fuzz seeds: a name/value block whose
 * value is `inflatedBytes` of zeros, deflated with the SPDY/3 dictionary and sync-flushed, as a
 * peer's first header block would be (about 1 KiB per MiB inflated).
 */
import * as zlib from 'node:zlib';
import { SPDY3_DICTIONARY } from '../streaming/spdy/dictionary';

/** The compressed block; streams the zeros through deflate so building it stays small. */
export async function bombBlock(inflatedBytes: number): Promise<Buffer> {
  const deflate = zlib.createDeflate({ dictionary: SPDY3_DICTIONARY, level: 9 });
  const chunks: Buffer[] = [];
  deflate.on('data', (c: Buffer) => chunks.push(c));
  const head = Buffer.alloc(4 + 4 + 1 + 4);
  head.writeUInt32BE(1, 0);
  head.writeUInt32BE(1, 4);
  head.write('x', 8);
  head.writeUInt32BE(inflatedBytes, 9);
  deflate.write(head);
  const zeros = Buffer.alloc(1024 * 1024);
  for (let left = inflatedBytes; left > 0; left -= zeros.length) {
    if (!deflate.write(left >= zeros.length ? zeros : zeros.subarray(0, left))) await new Promise((r) => deflate.once('drain', r));
  }
  await new Promise<void>((r) => deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => r()));
  deflate.close();
  return Buffer.concat(chunks);
}
