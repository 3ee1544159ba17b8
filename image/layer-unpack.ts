/**
 * Streams a layer tarball (plain, gzip or zstd) into an empty directory in overlayfs format:
 * `.wh.NAME` → a 0/0 character device NAME, `.wh..wh..opq` → `trusted.overlay.opaque=y` on the
 * directory (both through native/). Modes, owners, mtimes, xattrs (PAX SCHILY.xattr.*), hardlinks,
 * symlinks, devices and fifos are preserved.
 *
 * Safety: nothing may be created, followed or linked outside the target directory. Every name is
 * checked (no absolute paths, no `..`), every parent component is walked with lstat and must be a
 * real directory (a symlink planted earlier in the layer is never written through), hardlink
 * targets must resolve inside the layer, whiteout names must be plain names. A bad entry fails
 * the whole layer; the caller unpacks into a temp dir and deletes it on failure.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { constants as fsc } from 'node:fs';
import * as path from 'node:path';
import { Duplex, pipeline, Readable, Transform, TransformCallback } from 'node:stream';
import { spawn } from 'node:child_process';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar-stream';
import { FailedPreconditionError, RuntimeError } from '../common/errors';
import type { NativeBinding } from '../native/binding';
import { ChunkCoalescer } from './chunk-coalescer';
import type { LayerCompression } from './manifest';
import { paxXattrs } from './tar-pax';

type TarHeader = tar.Header;

/** The part of the native binding unpacking needs. */
export type UnpackNative = Pick<NativeBinding, 'mknod' | 'lsetxattr'>;

export interface UnpackOptions {
  readonly native: UnpackNative;
  /** chown entries to their tar owners (needs root); default: when running as root. */
  readonly preserveOwners?: boolean;
  /** Path of the zstd CLI (Debian's `zstd`), used for tar+zstd layers. */
  readonly zstdPath?: string;
}

export interface UnpackResult {
  /** sha256 of the uncompressed tar: the layer's DiffID. */
  readonly diffId: string;
  /** Bytes of uncompressed tar read. */
  readonly size: number;
}

const WHITEOUT_PREFIX = '.wh.';
/** Compressed bytes handed to the decompressor at once (see ChunkCoalescer). */
const DECOMPRESS_INPUT_BYTES = 512 * 1024;
const OPAQUE_MARKER = '.wh..wh..opq';
export const OPAQUE_XATTR = 'trusted.overlay.opaque';

/** Thrown for a layer entry that would escape the layer directory or is otherwise malformed. */
export class UnsafeLayerError extends FailedPreconditionError {}

/**
 * Splits a tar entry name into safe components; refuses absolute names and `..` components.
 * Returns [] for the root itself (`./`).
 */
export function safeComponents(name: string): string[] {
  if (name.includes('\0')) throw new UnsafeLayerError(`unpack layer: entry name ${JSON.stringify(name)} contains NUL`);
  if (name.startsWith('/')) throw new UnsafeLayerError(`unpack layer: absolute entry name ${JSON.stringify(name)}`);
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new UnsafeLayerError(`unpack layer: entry name ${JSON.stringify(name)} contains ".."`);
  return parts;
}

/** Decompresses according to `compression`. */
function decompressor(compression: LayerCompression, zstdPath: string): { stream: Duplex; kill?: () => void } {
  if (compression === 'gzip') return { stream: createGunzip({ chunkSize: 256 * 1024 }) };
  if (compression === 'none') return { stream: new Transform({ transform: (c, _e, cb) => cb(null, c) }) };
  const child = spawn(zstdPath, ['-dc', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4096);
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  // The output only ends cleanly once zstd has exited 0: a failed decompression is an error even
  // when some output came out first.
  const checked = new Transform({
    transform: (c, _e, cb) => cb(null, c),
    flush: (cb) => {
      void exited.then((code) =>
        code === 0 ? cb() : cb(new FailedPreconditionError(`decompress zstd layer: zstd exited ${code}: ${stderr.trim()}`)),
      );
    },
  });
  child.stdout.pipe(checked);
  child.stdin.on('error', () => undefined); // EPIPE when zstd dies: reported through the exit code
  const duplex = Duplex.from({ writable: child.stdin, readable: checked });
  child.on('error', (err) => duplex.destroy(new RuntimeError(`run ${zstdPath} to decompress a zstd layer`, { cause: err })));
  return { stream: duplex, kill: () => child.kill('SIGKILL') };
}

/** Hashes what flows through (the DiffID) and counts bytes. */
class DiffIdStream extends Transform {
  readonly hash = createHash('sha256');
  size = 0;
  override _transform(chunk: Buffer, _e: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    cb(null, chunk);
  }
}

/** Unpacks the (compressed) layer `source` into the existing empty directory `root`. */
export async function unpackLayer(source: Readable, compression: LayerCompression, root: string, opts: UnpackOptions): Promise<UnpackResult> {
  const unpacker = new LayerUnpacker(root, opts);
  const { stream: decomp, kill } = decompressor(compression, opts.zstdPath ?? 'zstd');
  const diff = new DiffIdStream();
  const extract = tar.extract();
  const tarStream = (
    compression === 'none'
      ? pipeline(source, decomp, diff, () => undefined)
      : pipeline(source, new ChunkCoalescer(DECOMPRESS_INPUT_BYTES), decomp, diff, () => undefined)
  ) as Transform;
  const entriesDone = (async () => {
    for await (const entry of extract) {
      await unpacker.apply(entry.header, entry);
      entry.resume();
    }
  })();
  // Feed the tar parser by hand: tar-stream's streams are streamx, not node streams.
  const pumpDone = (async () => {
    for await (const chunk of tarStream) {
      if (extract.destroyed) return;
      if (!extract.write(chunk as Buffer)) {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            extract.off('drain', done);
            extract.off('close', done);
            resolve();
          };
          extract.on('drain', done);
          extract.on('close', done);
        });
      }
    }
    (extract as unknown as { end(): void }).end();
  })();
  pumpDone.catch((err: unknown) => extract.destroy(err as Error));
  try {
    await entriesDone;
    await pumpDone;
  } catch (err) {
    kill?.();
    tarStream.destroy();
    source.destroy();
    extract.destroy();
    await pumpDone.catch(() => undefined);
    throw unpackFailure(err);
  }
  await unpacker.finish();
  return { diffId: `sha256:${diff.hash.digest('hex')}`, size: diff.size };
}

/** The error a failed unpack rejects with: typed errors as they are, anything else as FailedPrecondition. */
export function unpackFailure(err: unknown): Error {
  return err instanceof FailedPreconditionError || err instanceof RuntimeError
    ? err
    : new FailedPreconditionError(`unpack layer: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

/**
 * Applies tar entries one at a time inside `root`.
 *
 * The layer dir starts empty and only this unpacker writes into it, so it knows every path that
 * exists: `dirs` (real directories) and `others` (files, symlinks, devices, whiteouts). A parent
 * that is in `others` is a symlink or file and fails the layer; no lstat is needed.
 *
 * Metadata calls use the synchronous fs API on purpose: each is a few microseconds on the page
 * cache, while a thread-pool round trip per call made unpacking a busybox layer (~270 entries)
 * several times slower. The event loop still gets a turn between entries.
 */
class LayerUnpacker {
  private readonly dirs = new Set<string>(['']);
  private readonly others = new Set<string>();
  /** Directory times to set last (writing into a dir changes its mtime). */
  private readonly dirTimes: Array<{ abs: string; mtime: Date }> = [];
  private readonly preserveOwners: boolean;
  private readonly asRoot: boolean;

  constructor(
    private readonly root: string,
    private readonly opts: UnpackOptions,
  ) {
    this.asRoot = process.getuid?.() === 0;
    this.preserveOwners = opts.preserveOwners ?? this.asRoot;
  }

  async apply(h: TarHeader, body: AsyncIterable<unknown>): Promise<void> {
    const parts = safeComponents(h.name);
    if (parts.length === 0) return; // the layer root itself: keep our own dir
    const base = parts[parts.length - 1]!;
    const parentRel = parts.slice(0, -1).join('/');
    const parentAbs = this.ensureParent(parts.slice(0, -1), h.name);

    if (base === OPAQUE_MARKER) {
      await this.opts.native.lsetxattr(parentAbs, OPAQUE_XATTR, Buffer.from('y'));
      return;
    }
    if (base.startsWith(WHITEOUT_PREFIX)) {
      const hidden = base.slice(WHITEOUT_PREFIX.length);
      if (hidden === '' || hidden === '.' || hidden === '..' || hidden.includes('/')) {
        throw new UnsafeLayerError(`unpack layer: bad whiteout ${JSON.stringify(h.name)}`);
      }
      const rel = joinRel(parentRel, hidden);
      const abs = path.join(parentAbs, hidden);
      this.removeExisting(abs, rel);
      await this.opts.native.mknod(abs, fsc.S_IFCHR | 0o000, 0, 0);
      this.others.add(rel);
      return;
    }

    const rel = joinRel(parentRel, base);
    const abs = path.join(parentAbs, base);
    const mode = (h.mode ?? 0o644) & 0o7777;
    switch (h.type) {
      case 'directory': {
        if (!this.dirs.has(rel)) {
          this.removeExisting(abs, rel);
          fs.mkdirSync(abs, { mode: 0o700 });
          this.dirs.add(rel);
        }
        await this.setMetadata(abs, h, mode, false);
        this.dirTimes.push({ abs, mtime: h.mtime ?? new Date(0) });
        return;
      }
      case 'file':
      case 'contiguous-file':
      case undefined:
      case null: {
        this.removeExisting(abs, rel);
        const fd = fs.openSync(abs, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600);
        this.others.add(rel);
        try {
          for await (const chunk of body) fs.writeSync(fd, chunk as Buffer);
        } finally {
          fs.closeSync(fd);
        }
        await this.setMetadata(abs, h, mode, false);
        return;
      }
      case 'symlink': {
        this.removeExisting(abs, rel);
        // The target is stored as is; it is never followed while unpacking.
        fs.symlinkSync(h.linkname ?? '', abs);
        this.others.add(rel);
        await this.setMetadata(abs, h, mode, true);
        return;
      }
      case 'link': {
        const targetParts = safeComponents(h.linkname ?? '');
        if (targetParts.length === 0) throw new UnsafeLayerError(`unpack layer: hardlink ${JSON.stringify(h.name)} to the layer root`);
        const targetParent = this.ensureParent(targetParts.slice(0, -1), h.linkname ?? '', false);
        const targetRel = targetParts.join('/');
        const targetAbs = path.join(targetParent, targetParts[targetParts.length - 1]!);
        if (this.dirs.has(targetRel)) throw new UnsafeLayerError(`unpack layer: hardlink ${JSON.stringify(h.name)} to a directory`);
        if (!this.others.has(targetRel)) {
          throw new UnsafeLayerError(`unpack layer: hardlink ${JSON.stringify(h.name)} to missing ${JSON.stringify(h.linkname)}`);
        }
        if (targetRel === rel) return;
        this.removeExisting(abs, rel);
        fs.linkSync(targetAbs, abs); // link(2) does not follow a symlink target on Linux
        this.others.add(rel);
        return;
      }
      case 'character-device':
      case 'block-device':
      case 'fifo': {
        this.removeExisting(abs, rel);
        const kind = h.type === 'fifo' ? fsc.S_IFIFO : h.type === 'block-device' ? fsc.S_IFBLK : fsc.S_IFCHR;
        await this.opts.native.mknod(abs, kind | mode, h.devmajor ?? 0, h.devminor ?? 0);
        this.others.add(rel);
        await this.setMetadata(abs, h, mode, false);
        return;
      }
      default:
        throw new UnsafeLayerError(`unpack layer: unsupported entry type ${String(h.type)} for ${JSON.stringify(h.name)}`);
    }
  }

  /** Sets directory mtimes last. */
  async finish(): Promise<void> {
    for (const { abs, mtime } of this.dirTimes.reverse()) fs.lutimesSync(abs, mtime, mtime);
  }

  /**
   * Walks `parts` from the root: every component must be a directory this layer made (created
   * 0755 when missing). A symlink or file in the way fails the layer.
   */
  private ensureParent(parts: string[], name: string, create = true): string {
    let rel = '';
    for (const p of parts) {
      rel = joinRel(rel, p);
      if (this.dirs.has(rel)) continue;
      if (this.others.has(rel)) {
        const st = fs.lstatSync(path.join(this.root, rel));
        const what = st.isSymbolicLink() ? 'through symlink' : 'under non-directory';
        throw new UnsafeLayerError(`unpack layer: ${JSON.stringify(name)} would be written ${what} ${JSON.stringify(rel)}`);
      }
      if (!create) throw new UnsafeLayerError(`unpack layer: ${JSON.stringify(name)} refers to missing directory ${JSON.stringify(rel)}`);
      fs.mkdirSync(path.join(this.root, rel), { mode: 0o755 });
      this.dirs.add(rel);
    }
    return path.join(this.root, rel);
  }

  /** Removes what an earlier entry put at `rel` so this entry can replace it (never follows). */
  private removeExisting(abs: string, rel: string): void {
    if (this.dirs.has(rel)) {
      fs.rmSync(abs, { recursive: true, force: true });
      for (const set of [this.dirs, this.others]) for (const d of [...set]) if (d === rel || d.startsWith(rel + '/')) set.delete(d);
    } else if (this.others.has(rel)) {
      fs.unlinkSync(abs);
      this.others.delete(rel);
    }
  }

  private async setMetadata(abs: string, h: TarHeader, mode: number, isSymlink: boolean): Promise<void> {
    const uid = h.uid ?? 0;
    const gid = h.gid ?? 0;
    // Files we create as root are 0:0 already.
    if (this.preserveOwners && !(this.asRoot && uid === 0 && gid === 0)) fs.lchownSync(abs, uid, gid);
    // chmod after chown: chown clears setuid/setgid bits. Symlinks have no mode of their own.
    if (!isSymlink) fs.chmodSync(abs, mode);
    const xattrs = paxXattrs(h.pax as Record<string, string> | undefined);
    for (const x of xattrs) {
      // Only namespaces an image may carry; trusted.* would let a layer fake overlay state.
      if (!x.name.startsWith('user.') && !x.name.startsWith('security.')) continue;
      await this.opts.native.lsetxattr(abs, x.name, x.value);
    }
    const mtime = h.mtime ?? new Date(0);
    fs.lutimesSync(abs, mtime, mtime);
  }
}

function joinRel(a: string, b: string): string {
  return a === '' ? b : `${a}/${b}`;
}
