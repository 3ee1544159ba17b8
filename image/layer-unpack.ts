/**
 * Streams a layer tarball (plain, gzip or zstd) into an empty directory in overlayfs format:
 * `.wh.NAME` → a 0/0 character device NAME, `.wh..wh..opq` → `trusted.overlay.opaque=y` on the
 * directory (both through native/). Modes, owners, mtimes, xattrs (PAX SCHILY.xattr.*), hardlinks,
 * symlinks, devices and fifos are preserved.
 *
 * Safety: nothing may be created, followed or linked outside the target directory. Every name is
 * checked (no absolute paths, no `..`, shorter than PATH_MAX), every parent component must be a
 * directory this layer made (a symlink planted earlier in the layer is never written through; see
 * image/layer-tree.ts), hardlink targets must resolve inside the layer, whiteout names must be
 * plain names. Directory times are set last, through no-follow fds, and only for paths no later
 * entry replaced. PAX and GNU long-name records over 1 MiB are refused from their header
 * (image/tar-pax.ts). A bad entry fails the whole layer; the caller unpacks into a temp dir and
 * deletes it on failure.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { constants as fsc } from 'node:fs';
import * as path from 'node:path';
import { Duplex, pipeline, Readable, Transform, TransformCallback } from 'node:stream';
import { spawn } from 'node:child_process';
import { createGunzip } from 'node:zlib';
import type * as tar from 'tar-stream';
import { FailedPreconditionError, RuntimeError } from '../common/errors';
import type { NativeBinding } from '../native/binding';
import { ChunkCoalescer } from './chunk-coalescer';
import type { LayerCompression } from './manifest';
import { quoteName, TarRecordTooLargeError, UnsafeLayerError } from './layer-errors';
import { LayerTree, MAX_DIR_TIME_FIXUPS, type DirAt } from './layer-tree';
import { paxXattrs } from './tar-pax';

export { TarRecordTooLargeError, UnsafeLayerError } from './layer-errors';

type TarHeader = tar.Header;

/** The part of the native binding unpacking needs. */
export type UnpackNative = Pick<NativeBinding, 'mknod' | 'lsetxattr'>;

export interface UnpackOptions {
  readonly native: UnpackNative;
  /** chown entries to their tar owners (needs root); default: when running as root. */
  readonly preserveOwners?: boolean;
  /** Path of the zstd CLI (Debian's `zstd`), used for tar+zstd layers. */
  readonly zstdPath?: string;
  /** The layer's (compressed) digest, named in errors. */
  readonly digest?: string;
  /** Directory time fix-ups recorded at most (default MAX_DIR_TIME_FIXUPS). */
  readonly maxDirTimeFixups?: number;
}

export interface UnpackResult {
  /** sha256 of the uncompressed tar: the layer's DiffID. */
  readonly diffId: string;
  /** Bytes of uncompressed tar read. */
  readonly size: number;
  /** Directories past the fix-up cap, left with the time of their last write. */
  readonly dirTimesSkipped?: number;
}

const WHITEOUT_PREFIX = '.wh.';
/** Compressed bytes handed to the decompressor at once (see ChunkCoalescer). */
const DECOMPRESS_INPUT_BYTES = 512 * 1024;
const OPAQUE_MARKER = '.wh..wh..opq';
/** Linux's limit on a path (and a symlink target); longer names could never be created. */
const PATH_MAX = 4096;
/** xattrs one entry may set. */
const MAX_XATTRS_PER_ENTRY = 128;
/** Longest message kept from an untyped error (it may quote huge names). */
const MAX_MESSAGE_CHARS = 1024;
export const OPAQUE_XATTR = 'trusted.overlay.opaque';


/**
 * Splits a tar entry name into safe components; refuses absolute names and `..` components.
 * Returns [] for the root itself (`./`).
 */
export function safeComponents(name: string): string[] {
  if (Buffer.byteLength(name) >= PATH_MAX) throw new UnsafeLayerError(`unpack layer: entry name ${quoteName(name)} is longer than PATH_MAX`);
  if (name.includes('\0')) throw new UnsafeLayerError(`unpack layer: entry name ${quoteName(name)} contains NUL`);
  if (name.startsWith('/')) throw new UnsafeLayerError(`unpack layer: absolute entry name ${quoteName(name)}`);
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new UnsafeLayerError(`unpack layer: entry name ${quoteName(name)} contains ".."`);
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
  const extract = tarStreamModule().extract();
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
    if (err instanceof TarRecordTooLargeError) {
      throw new TarRecordTooLargeError(`unpack layer ${opts.digest ?? '(digest unknown)'}: ${err.message}`, { cause: err });
    }
    throw unpackFailure(err);
  }
  unpacker.finish();
  return { diffId: `sha256:${diff.hash.digest('hex')}`, size: diff.size, dirTimesSkipped: unpacker.tree.skippedDirTimes };
}

/** The error a failed unpack rejects with: typed errors as they are, anything else as FailedPrecondition. */
export function unpackFailure(err: unknown): Error {
  return err instanceof FailedPreconditionError || err instanceof RuntimeError
    ? err
    : new FailedPreconditionError(`unpack layer: ${(err instanceof Error ? err.message : String(err)).slice(0, MAX_MESSAGE_CHARS)}`, { cause: err });
}

/**
 * Applies tar entries one at a time inside `root`; what exists so far is tracked in a LayerTree
 * (no lstat needed, see image/layer-tree.ts).
 *
 * Metadata calls use the synchronous fs API on purpose: each is a few microseconds on the page
 * cache, while a thread-pool round trip per call made unpacking a busybox layer (~270 entries)
 * several times slower. The event loop still gets a turn between entries.
 */
class LayerUnpacker {
  readonly tree: LayerTree;
  private readonly preserveOwners: boolean;
  private readonly asRoot: boolean;

  constructor(
    root: string,
    private readonly opts: UnpackOptions,
  ) {
    this.tree = new LayerTree(root, opts.maxDirTimeFixups ?? MAX_DIR_TIME_FIXUPS);
    this.asRoot = process.getuid?.() === 0;
    this.preserveOwners = opts.preserveOwners ?? this.asRoot;
  }

  async apply(h: TarHeader, body: AsyncIterable<unknown>): Promise<void> {
    const parts = safeComponents(h.name);
    if (parts.length === 0) return; // the layer root itself: keep our own dir
    const base = parts[parts.length - 1]!;
    const parent = this.tree.dirAt(parts.slice(0, -1), h.name);

    if (base === OPAQUE_MARKER) {
      await this.opts.native.lsetxattr(parent.abs, OPAQUE_XATTR, Buffer.from('y'));
      return;
    }
    if (base.startsWith(WHITEOUT_PREFIX)) {
      await this.whiteout(h, parent, base.slice(WHITEOUT_PREFIX.length));
      return;
    }

    const abs = path.join(parent.abs, base);
    const mode = (h.mode ?? 0o644) & 0o7777;
    switch (h.type) {
      case 'directory': {
        let node = this.tree.get(parent, base);
        if (node?.kind !== 'dir') {
          this.tree.remove(parent, base);
          fs.mkdirSync(abs, { mode: 0o700 });
          node = this.tree.addDir(parent, base);
        }
        await this.setMetadata(abs, h, mode, false);
        this.tree.setDirTime(parent, node, (h.mtime ?? new Date(0)).getTime());
        return;
      }
      case 'file':
      case 'contiguous-file':
      case undefined:
      case null: {
        this.tree.remove(parent, base);
        const fd = fs.openSync(abs, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600);
        this.tree.addLeaf(parent, base, 'other');
        await writeAllAndClose(fd, body);
        await this.setMetadata(abs, h, mode, false);
        return;
      }
      case 'symlink': {
        const linkBytes = Buffer.byteLength(h.linkname ?? '');
        if (linkBytes === 0 || linkBytes >= PATH_MAX) {
          throw new UnsafeLayerError(`unpack layer: symlink ${quoteName(h.name)} has an empty target or one longer than PATH_MAX`);
        }
        this.tree.remove(parent, base);
        // The target is stored as is; it is never followed while unpacking.
        fs.symlinkSync(h.linkname ?? '', abs);
        this.tree.addLeaf(parent, base, 'symlink');
        await this.setMetadata(abs, h, mode, true);
        return;
      }
      case 'link':
        this.hardlink(h, parts, parent, abs);
        return;
      case 'character-device':
      case 'block-device':
      case 'fifo': {
        this.tree.remove(parent, base);
        const kind = h.type === 'fifo' ? fsc.S_IFIFO : h.type === 'block-device' ? fsc.S_IFBLK : fsc.S_IFCHR;
        await this.opts.native.mknod(abs, kind | mode, h.devmajor ?? 0, h.devminor ?? 0);
        this.tree.addLeaf(parent, base, 'other');
        await this.setMetadata(abs, h, mode, false);
        return;
      }
      default:
        throw new UnsafeLayerError(`unpack layer: unsupported entry type ${String(h.type)} for ${quoteName(h.name)}`);
    }
  }

  /** A whiteout `.wh.<hidden>`: hides `hidden` of the lower layers with a 0/0 character device (overlayfs). */
  private async whiteout(h: TarHeader, parent: DirAt, hidden: string): Promise<void> {
    if (hidden === '' || hidden === '.' || hidden === '..' || hidden.includes('/')) {
      throw new UnsafeLayerError(`unpack layer: bad whiteout ${quoteName(h.name)}`);
    }
    this.tree.remove(parent, hidden);
    await this.opts.native.mknod(path.join(parent.abs, hidden), fsc.S_IFCHR | 0o000, 0, 0);
    this.tree.addLeaf(parent, hidden, 'other');
  }

  /** A hard link to an entry already in this layer: never to the root, a directory, or an entry below itself. */
  private hardlink(h: TarHeader, parts: readonly string[], parent: DirAt, abs: string): void {
    const base = parts[parts.length - 1]!;
    const targetParts = safeComponents(h.linkname ?? '');
    if (targetParts.length === 0) throw new UnsafeLayerError(`unpack layer: hardlink ${quoteName(h.name)} to the layer root`);
    const targetParent = this.tree.dirAt(targetParts.slice(0, -1), h.linkname ?? '', false);
    const targetBase = targetParts[targetParts.length - 1]!;
    const target = this.tree.get(targetParent, targetBase);
    if (target === undefined) {
      throw new UnsafeLayerError(`unpack layer: hardlink ${quoteName(h.name)} to missing ${quoteName(h.linkname)}`);
    }
    if (target.kind === 'dir') throw new UnsafeLayerError(`unpack layer: hardlink ${quoteName(h.name)} to a directory`);
    if (targetParent.node === parent.node && targetBase === base) return;
    if (targetParts.length > parts.length && parts.every((p, i) => targetParts[i] === p)) {
      throw new UnsafeLayerError(`unpack layer: hardlink ${quoteName(h.name)} would replace the directory holding its target`);
    }
    this.tree.remove(parent, base);
    fs.linkSync(path.join(targetParent.abs, targetBase), abs); // link(2) does not follow a symlink target on Linux
    this.tree.addLeaf(parent, base, target.kind);
  }

  /** Sets directory times last (see LayerTree.applyDirTimes). */
  finish(): void {
    this.tree.applyDirTimes();
  }

  private async setMetadata(abs: string, h: TarHeader, mode: number, isSymlink: boolean): Promise<void> {
    const uid = h.uid ?? 0;
    const gid = h.gid ?? 0;
    // Files we create as root are 0:0 already.
    if (this.preserveOwners && !(this.asRoot && uid === 0 && gid === 0)) fs.lchownSync(abs, uid, gid);
    // chmod after chown: chown clears setuid/setgid bits. Symlinks have no mode of their own.
    if (!isSymlink) fs.chmodSync(abs, mode);
    // Only namespaces an image may carry; trusted.* would let a layer fake overlay state.
    const xattrs = paxXattrs(h.pax as Record<string, string> | undefined).filter((x) => x.name.startsWith('user.') || x.name.startsWith('security.'));
    // Each is a native call (a round trip to the main thread from a worker): a 1 MiB PAX record
    // could otherwise ask for ~50 000 per entry.
    if (xattrs.length > MAX_XATTRS_PER_ENTRY) {
      throw new UnsafeLayerError(`unpack layer: ${quoteName(h.name)} carries ${xattrs.length} xattrs, over the limit of ${MAX_XATTRS_PER_ENTRY}`);
    }
    for (const x of xattrs) await this.opts.native.lsetxattr(abs, x.name, x.value);
    const mtime = h.mtime ?? new Date(0);
    fs.lutimesSync(abs, mtime, mtime);
  }
}

/** Writes every chunk of `body` to `fd`, then closes it (also on a failure). */
async function writeAllAndClose(fd: number, body: AsyncIterable<unknown>): Promise<void> {
  try {
    for await (const chunk of body) fs.writeSync(fd, chunk as Buffer);
  } finally {
    fs.closeSync(fd);
  }
}

/** tar-stream, required when a layer/archive is first read: an idle daemon (or one whose unpacking runs in workers) need not carry it. */
function tarStreamModule(): typeof tar {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: see above
  return require('tar-stream') as typeof tar;
}
