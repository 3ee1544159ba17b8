/**
 * Two patches to tar-stream's header module, applied once, on import.
 *
 * Size cap: PAX extended/global headers and GNU long name/link records are buffered whole before
 * they are decoded (tar-stream's own limit is 4 MiB, a generic Error, and not in every version).
 * The decoder of the 512-byte header refuses a larger record with TarRecordTooLargeError, before
 * a byte of it is buffered. Wrapping the module's own decoder (instead of a second parser in
 * front of it) means both always agree on where a header is.
 *
 * Binary xattrs: tar-stream decodes PAX records as UTF-8, which corrupts binary xattr values such as
 * `SCHILY.xattr.security.capability` (a packed struct). We replace its PAX decoder with one that
 * keeps xattr values byte-exact (as latin1 strings, one char per byte) and decodes every other
 * record as UTF-8 exactly as before.
 */
// tar-stream ships no typings for headers.js; its decode and decodePax are looked up on the module object
// by extract.js at call time, so replacing the property takes effect.
// The package's "exports" hides headers.js, so it is required by file name (same module instance).
import * as path from 'node:path';
import { TarRecordTooLargeError } from './layer-errors';
// eslint-disable-next-line @typescript-eslint/no-var-requires
const headers = require(path.join(path.dirname(require.resolve('tar-stream')), 'headers.js')) as {
  decodePax: (buf: Buffer) => Record<string, string>;
  decode: (buf: Buffer, filenameEncoding: string, allowUnknownFormat: boolean) => { type: string; size: number } | null;
};

/** Largest PAX or GNU long name/link record an unpack buffers. */
const MAX_TAR_RECORD_BYTES = 1024 * 1024;

/** The records tar-stream buffers whole, by its type name. */
const BUFFERED_RECORDS: ReadonlyMap<string, string> = new Map([
  ['pax-header', 'PAX extended header'],
  ['pax-global-header', 'PAX global header'],
  ['gnu-long-path', 'GNU long name'],
  ['gnu-long-link-path', 'GNU long link name'],
]);

const decodeHeader = headers.decode;
headers.decode = (buf, filenameEncoding, allowUnknownFormat) => {
  const h = decodeHeader(buf, filenameEncoding, allowUnknownFormat);
  const record = h ? BUFFERED_RECORDS.get(h.type) : undefined;
  if (h && record !== undefined && !(h.size <= MAX_TAR_RECORD_BYTES)) {
    throw new TarRecordTooLargeError(`${record} record of ${h.size} bytes exceeds the ${MAX_TAR_RECORD_BYTES}-byte limit`);
  }
  return h;
};

const XATTR_PREFIX = 'SCHILY.xattr.';

function decodePaxBinarySafe(buf: Buffer): Record<string, string> {
  const result: Record<string, string> = {};
  while (buf.length) {
    let i = 0;
    while (i < buf.length && buf[i] !== 32) i++;
    const len = parseInt(buf.subarray(0, i).toString('ascii'), 10);
    if (!len) return result;
    const record = buf.subarray(i + 1, len - 1);
    const eq = record.indexOf(0x3d); // '='
    if (eq === -1) return result;
    const key = record.subarray(0, eq).toString('utf8');
    const value = record.subarray(eq + 1);
    result[key] = key.startsWith(XATTR_PREFIX) ? value.toString('latin1') : value.toString('utf8');
    buf = buf.subarray(len);
  }
  return result;
}

headers.decodePax = decodePaxBinarySafe;

/** The xattrs carried in an entry's PAX records, with byte-exact values. */
export function paxXattrs(pax: Record<string, string> | undefined): Array<{ name: string; value: Buffer }> {
  if (!pax) return [];
  return Object.entries(pax)
    .filter(([k]) => k.startsWith(XATTR_PREFIX))
    .map(([k, v]) => ({ name: k.slice(XATTR_PREFIX.length), value: Buffer.from(v, 'latin1') }));
}
