/** Builds tarballs in memory for tests (including deliberately malicious ones). */
import * as tar from 'tar-stream';
import { gzipSync } from 'node:zlib';

export interface TarEntrySpec {
  readonly name: string;
  readonly type?: 'file' | 'directory' | 'symlink' | 'link' | 'fifo' | 'character-device';
  readonly content?: string | Buffer;
  readonly linkname?: string;
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
  readonly pax?: Record<string, string>;
  /** Default: 2020-09-13 (1 600 000 000 s). */
  readonly mtime?: Date;
}

/** The tar bytes for `entries`, in order. */
export async function buildTar(entries: readonly TarEntrySpec[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack) chunks.push(Buffer.from(c as Uint8Array));
  })();
  for (const e of entries) {
    const type = e.type ?? 'file';
    const header = {
      name: e.name,
      type,
      linkname: e.linkname,
      mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644),
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      mtime: e.mtime ?? new Date(1_600_000_000_000),
      pax: e.pax,
    };
    await new Promise<void>((resolve, reject) => {
      const content = type === 'file' ? Buffer.from(e.content ?? '') : undefined;
      if (content !== undefined) pack.entry(header, content, (err) => (err ? reject(err) : resolve()));
      else pack.entry(header, (err) => (err ? reject(err) : resolve()));
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** gzip of `buildTar(entries)`. */
export async function buildTarGz(entries: readonly TarEntrySpec[]): Promise<Buffer> {
  return gzipSync(await buildTar(entries));
}

/** Fields of a raw header beyond name, type and size. */
export interface RawHeaderFields {
  readonly linkname?: string;
  readonly mode?: number;
  readonly mtimeSec?: number;
}

/** One raw 512-byte ustar header (checksum filled in) for hand-built, possibly hostile, tarballs. */
export function rawTarHeader(name: string, typeflag: string, size: number, fields: RawHeaderFields = {}): Buffer {
  const b = Buffer.alloc(512);
  b.write(name.slice(0, 100), 0);
  b.write((fields.mode ?? 0o644).toString(8).padStart(7, '0') + '\0', 100);
  b.write('0000000\0', 108);
  b.write('0000000\0', 116);
  b.write(size.toString(8).padStart(11, '0') + '\0', 124);
  b.write((fields.mtimeSec ?? 0o13000000000).toString(8).padStart(11, '0') + '\0', 136);
  b.write(typeflag, 156);
  if (fields.linkname !== undefined) b.write(fields.linkname.slice(0, 100), 157);
  b.write('ustar\x0000', 257);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const x of b) sum += x;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return b;
}

/** One entry of rawTar: typeflag '0' file, '1' hardlink, '2' symlink, '5' dir, '3' char dev, '6' fifo. */
export interface RawTarEntry extends RawHeaderFields {
  readonly name: string;
  readonly typeflag?: string;
  readonly content?: string | Buffer;
  /** PAX records written in an 'x' header before the entry (e.g. path, SCHILY.xattr.user.x). */
  readonly pax?: Readonly<Record<string, string>>;
  /** A GNU 'L' record carrying the name (for names over 100 bytes). */
  readonly gnuLongName?: boolean;
}

/** A PAX record: "<len> key=value\n", where len counts itself. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}

function padded(data: Buffer): Buffer[] {
  const pad = (512 - (data.length % 512)) % 512;
  return pad ? [data, Buffer.alloc(pad)] : [data];
}

/** A tarball built synchronously from raw headers (tar-stream's packer is async). */
export function rawTar(entries: readonly RawTarEntry[]): Buffer {
  const out: Buffer[] = [];
  for (const e of entries) {
    if (e.pax) {
      const records = Buffer.from(Object.entries(e.pax).map(([k, v]) => paxRecord(k, v)).join(''));
      out.push(rawTarHeader('PaxHeader', 'x', records.length), ...padded(records));
    }
    if (e.gnuLongName) {
      const long = Buffer.from(e.name + '\0');
      out.push(rawTarHeader('././@LongLink', 'L', long.length), ...padded(long));
    }
    const content = Buffer.from(e.content ?? '');
    const typeflag = e.typeflag ?? '0';
    out.push(rawTarHeader(e.name, typeflag, typeflag === '0' ? content.length : 0, e));
    if (typeflag === '0' && content.length) out.push(...padded(content));
  }
  out.push(Buffer.alloc(1024));
  return Buffer.concat(out);
}

/**
 * A tarball with one metadata record of `size` bytes (PAX 'x'/'g' holding a `comment`, or GNU
 * 'L'/'K' holding a name) before a small file, generated in 1 MiB chunks so the test never holds
 * it. `pulled` counts the bytes the consumer has taken.
 */
export function* oversizedRecordTar(typeflag: 'x' | 'g' | 'L' | 'K', size: number, pulled: { bytes: number }): Generator<Buffer> {
  const emit = (b: Buffer): Buffer => {
    pulled.bytes += b.length;
    return b;
  };
  yield emit(rawTarHeader('././@LongLink', typeflag, size));
  const isPax = typeflag === 'x' || typeflag === 'g';
  const prefix = Buffer.from(isPax ? `${size} comment=` : '');
  yield emit(prefix);
  let left = size - prefix.length - (isPax ? 1 : 0);
  const chunk = Buffer.alloc(1024 * 1024, 0x61);
  while (left > 0) {
    const n = Math.min(left, chunk.length);
    yield emit(chunk.subarray(0, n));
    left -= n;
  }
  if (isPax) yield emit(Buffer.from('\n'));
  const pad = (512 - (size % 512)) % 512;
  if (pad) yield emit(Buffer.alloc(pad));
  yield emit(rawTarHeader('file', '0', 0));
  yield emit(Buffer.alloc(1024));
}
