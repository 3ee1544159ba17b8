/**
 * What an unpack has created so far under the layer root, as a tree of plain names, and the
 * directory times to set once every entry is written (writing into a directory changes its mtime).
 *
 * The layer dir starts empty and only the unpacker writes into it, so the tree is exactly what is
 * on disk: a parent that is not a `dir` node is a symlink or file and fails the layer, with no
 * lstat. Replacing or whiting out a path detaches its subtree, which drops the time fix-ups of the
 * path and of everything below it (a fix-up can never apply to a path a later entry replaced).
 *
 * Fix-ups are applied through file descriptors, one component at a time from the layer root:
 * `/proc/self/fd/<parent fd>/<name>` with O_NOFOLLOW|O_DIRECTORY is openat(parent, name, same
 * flags) in pure Node (the fd link jumps to the open directory itself, never by name), so even a
 * tree that disagreed with the disk would fail on a symlink (ELOOP) instead of leaving the layer.
 * A native openat2 would do the same, but native calls from a layer worker are a round trip to the
 * main thread each.
 */
import * as fs from 'node:fs';
import { constants as fsc } from 'node:fs';
import * as path from 'node:path';
import { quoteName, UnsafeLayerError } from './layer-errors';

/** A directory the unpacker created. */
export interface DirNode {
  readonly kind: 'dir';
  readonly children: Map<string, LayerNode>;
  /** The time to set last (ms since the epoch), if the layer had an entry for this directory. */
  mtimeMs?: number;
  /** A fix-up is pending at or below this directory. */
  pending?: boolean;
}

/** Anything else: `symlink` is kept apart only for error messages. */
export interface LeafNode {
  readonly kind: 'symlink' | 'other';
}

export type LayerNode = DirNode | LeafNode;

/** Directory time fix-ups one layer may record; later directories keep the time of their last write. */
export const MAX_DIR_TIME_FIXUPS = 100_000;

/** A directory node and its path. */
export interface DirAt {
  readonly node: DirNode;
  readonly abs: string;
  /** The nodes from the root down to `node`, both included. */
  readonly chain: readonly DirNode[];
}

export class LayerTree {
  private readonly top: DirNode = { kind: 'dir', children: new Map() };
  private fixups = 0;
  /** Directories whose time was not recorded because the cap was reached. */
  skippedDirTimes = 0;

  constructor(
    readonly root: string,
    private readonly maxFixups = MAX_DIR_TIME_FIXUPS,
  ) {}

  /**
   * Walks `parts` from the root: every component must be a directory this layer made; missing
   * ones are created 0755 when `create` (else the entry is refused). A symlink or file in the way
   * fails the layer.
   */
  dirAt(parts: readonly string[], name: string, create = true): DirAt {
    let node = this.top;
    const chain: DirNode[] = [node];
    let abs = this.root;
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      abs = path.join(abs, p);
      const child = node.children.get(p);
      if (child === undefined) {
        if (!create) {
          throw new UnsafeLayerError(`unpack layer: ${quoteName(name)} refers to missing directory ${quoteName(parts.slice(0, i + 1).join('/'))}`);
        }
        fs.mkdirSync(abs, { mode: 0o755 });
        const made: DirNode = { kind: 'dir', children: new Map() };
        node.children.set(p, made);
        node = made;
      } else if (child.kind !== 'dir') {
        const what = child.kind === 'symlink' ? 'through symlink' : 'under non-directory';
        throw new UnsafeLayerError(`unpack layer: ${quoteName(name)} would be written ${what} ${quoteName(parts.slice(0, i + 1).join('/'))}`);
      } else {
        node = child;
      }
      chain.push(node);
    }
    return { node, abs, chain };
  }

  /** What the layer has at `name` in `dir`. */
  get(dir: DirAt, name: string): LayerNode | undefined {
    return dir.node.children.get(name);
  }

  /** Removes what an earlier entry put at `name` in `dir` (never follows), with every fix-up at or below it. */
  remove(dir: DirAt, name: string): void {
    const node = dir.node.children.get(name);
    if (node === undefined) return;
    const abs = path.join(dir.abs, name);
    if (node.kind === 'dir') fs.rmSync(abs, { recursive: true, force: true });
    else fs.unlinkSync(abs);
    dir.node.children.delete(name);
  }

  /** Records a directory just created at `name` in `dir`. */
  addDir(dir: DirAt, name: string): DirNode {
    const node: DirNode = { kind: 'dir', children: new Map() };
    dir.node.children.set(name, node);
    return node;
  }

  /** Records a non-directory just created at `name` in `dir`. */
  addLeaf(dir: DirAt, name: string, kind: LeafNode['kind']): void {
    dir.node.children.set(name, { kind });
  }

  /** Remembers the time of directory `node` (a child of `parent`), unless the cap is reached. */
  setDirTime(parent: DirAt, node: DirNode, mtimeMs: number): void {
    if (node.mtimeMs === undefined) {
      if (this.fixups >= this.maxFixups) {
        this.skippedDirTimes++;
        return;
      }
      this.fixups++;
    }
    node.mtimeMs = mtimeMs;
    node.pending = true;
    for (const up of parent.chain) up.pending = true;
  }

  /** Sets the recorded directory times, children before parents, never leaving the layer root. */
  applyDirTimes(): void {
    if (!this.top.pending) return;
    const rootFd = fs.openSync(this.root, fsc.O_RDONLY | fsc.O_DIRECTORY);
    try {
      this.applyBelow(this.top, rootFd, '');
    } finally {
      fs.closeSync(rootFd);
    }
  }

  private applyBelow(dir: DirNode, dirFd: number, rel: string): void {
    for (const [name, child] of dir.children) {
      if (child.kind !== 'dir' || !child.pending) continue;
      const childRel = rel === '' ? name : `${rel}/${name}`;
      const fd = openChildDir(dirFd, name, childRel);
      try {
        this.applyBelow(child, fd, childRel);
        if (child.mtimeMs !== undefined) fs.futimesSync(fd, child.mtimeMs / 1000, child.mtimeMs / 1000);
      } finally {
        fs.closeSync(fd);
      }
    }
  }
}

/** openat(dirFd, name, O_RDONLY|O_DIRECTORY|O_NOFOLLOW): a symlink or non-directory fails. */
function openChildDir(dirFd: number, name: string, rel: string): number {
  if (name === '' || name === '.' || name === '..' || name.includes('/')) {
    throw new UnsafeLayerError(`unpack layer: ${quoteName(rel)} is not a plain name`);
  }
  try {
    return fs.openSync(`/proc/self/fd/${dirFd}/${name}`, fsc.O_RDONLY | fsc.O_DIRECTORY | fsc.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'ENOTDIR' || code === 'ENOENT') {
      throw new UnsafeLayerError(`unpack layer: set the time of directory ${quoteName(rel)}: no longer a directory of the layer (${code})`, { cause: err });
    }
    throw err;
  }
}
