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
      mtime: new Date(1_600_000_000_000),
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
