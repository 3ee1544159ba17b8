/**
 * Unpacked layers, stored once per chain ID and shared between images:
 *
 *   <dir>/layers/<chain hex>/diff/       the layer's files in overlayfs format
 *   <dir>/layers/<chain hex>/meta.json   { chainId, diffId, parent, link, size }
 *   <dir>/l/<short id>  → ../layers/<chain hex>/diff
 *
 * The short links (as in containers/storage) keep the overlay `lowerdir=` option under the one-page
 * limit for images with 100+ layers. A layer is unpacked into `<dir>/tmp/` and renamed into place,
 * so a layer directory that exists is always complete.
 */
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { FailedPreconditionError } from '../common/errors';
import { readJsonIfExists } from '../common/atomic-file';
import { SingleFlight } from './singleflight';

export interface LayerMeta {
  readonly version: 1;
  readonly chainId: string;
  readonly diffId: string;
  readonly parent?: string;
  /** Short link name under `<dir>/l/`. */
  readonly link: string;
  /** Uncompressed tar size. */
  readonly size: number;
}

const LINK_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
// Short enough that 120 layers under the default root fit the one-page lowerdir limit:
// "/var/lib/berth/images/l/XXXXXX:" is 31 bytes; 36^6 names make collisions rare (and retried).
const LINK_LENGTH = 6;

/** Chain IDs (OCI image-spec config.md) for a list of DiffIDs, bottom layer first. */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) {
    const prev = out[out.length - 1];
    out.push(prev === undefined ? d : 'sha256:' + createHash('sha256').update(`${prev} ${d}`).digest('hex'));
  }
  return out;
}

function hexOf(digest: string): string {
  return digest.slice(digest.indexOf(':') + 1);
}

export class LayerStore {
  private readonly layers = new Map<string, LayerMeta>();
  private readonly flights = new SingleFlight<LayerMeta>();
  /** Background deletions of removed layers' files. */
  private readonly deletions = new Set<Promise<void>>();

  constructor(readonly dir: string) {}

  /** Creates the directories, drops leftovers of interrupted unpacks and loads layer metadata. */
  async init(): Promise<void> {
    await fs.mkdir(path.join(this.dir, 'layers'), { recursive: true, mode: 0o700 });
    await fs.mkdir(path.join(this.dir, 'l'), { recursive: true, mode: 0o700 });
    await fs.rm(path.join(this.dir, 'tmp'), { recursive: true, force: true });
    // Links whose layer never finished (crash between link and rename) point nowhere.
    for (const link of await fs.readdir(path.join(this.dir, 'l'))) {
      const target = path.join(this.dir, 'l', link);
      if (!(await fs.stat(target).then(() => true, () => false))) await fs.rm(target, { force: true });
    }
    await fs.mkdir(path.join(this.dir, 'tmp'), { recursive: true, mode: 0o700 });
    for (const hex of await fs.readdir(path.join(this.dir, 'layers'))) {
      const meta = await readJsonIfExists<LayerMeta>(path.join(this.dir, 'layers', hex, 'meta.json')).catch(() => undefined);
      if (!meta) {
        // meta.json is written last: without it the layer never finished.
        await fs.rm(path.join(this.dir, 'layers', hex), { recursive: true, force: true });
        continue;
      }
      this.layers.set(meta.chainId, meta);
    }
  }

  /** The layer with this chain ID, if stored. */
  get(chainId: string): LayerMeta | undefined {
    return this.layers.get(chainId);
  }

  /** Absolute path of the layer's short link (a valid overlay lowerdir). */
  linkPath(meta: LayerMeta): string {
    return path.join(this.dir, 'l', meta.link);
  }

  /** The layer's diff directory. */
  diffPath(chainId: string): string {
    return path.join(this.dir, 'layers', hexOf(chainId), 'diff');
  }

  /**
   * Ensures the layer `chainId` exists, calling `fill(dir, signal)` to unpack it into an empty temp
   * dir when it does not; `fill` returns the DiffID and size it saw. Concurrent calls share one
   * unpack, whose signal aborts (and temp dir goes) only when every caller's `signal` has aborted.
   */
  async ensure(
    chainId: string,
    diffId: string,
    parent: string | undefined,
    fill: (dir: string, signal: AbortSignal) => Promise<{ diffId: string; size: number }>,
    signal?: AbortSignal,
  ): Promise<LayerMeta> {
    const existing = this.layers.get(chainId);
    if (existing) return existing;
    return this.flights.runShared(chainId, signal, async (shared) => {
      const again = this.layers.get(chainId);
      if (again) return again;
      const tmp = path.join(this.dir, 'tmp', `${hexOf(chainId).slice(0, 16)}-${randomBytes(4).toString('hex')}`);
      const tmpDiff = path.join(tmp, 'diff');
      // The layer dir is berth's (0700); diff/ becomes the container's `/` and keeps 0755.
      await fs.mkdir(tmp, { mode: 0o700 });
      await fs.mkdir(tmpDiff, { mode: 0o755 });
      let link: string | undefined;
      try {
        shared.throwIfAborted();
        const got = await fill(tmpDiff, shared);
        // An unpack that finished as its last caller went is not kept: nobody wants it now.
        shared.throwIfAborted();
        if (got.diffId !== diffId) {
          throw new FailedPreconditionError(`unpack layer ${diffId}: uncompressed content has digest ${got.diffId}`);
        }
        link = await this.createLink(hexOf(chainId));
        const meta: LayerMeta = { version: 1, chainId, diffId, parent, link, size: got.size };
        const final = path.join(this.dir, 'layers', hexOf(chainId));
        // No fsync per layer (it dominated many-layer pulls): a torn meta.json after a crash makes
        // init drop the layer, and then the image record that needs it (records are fsynced).
        await fs.writeFile(path.join(tmp, 'meta.json'), JSON.stringify(meta));
        await fs.rename(tmp, final);
        this.layers.set(chainId, meta);
        return meta;
      } catch (err) {
        await fs.rm(tmp, { recursive: true, force: true });
        await fs.rm(path.join(this.dir, 'layers', hexOf(chainId)), { recursive: true, force: true });
        if (link) await fs.rm(path.join(this.dir, 'l', link), { force: true });
        throw err;
      }
    });
  }

  /** Creates a fresh short link pointing at the (future) diff dir of `hex`. */
  private async createLink(hex: string): Promise<string> {
    for (let attempt = 0; attempt < 20; attempt++) {
      let name = '';
      for (let i = 0; i < LINK_LENGTH; i++) name += LINK_ALPHABET[randomInt(LINK_ALPHABET.length)];
      try {
        await fs.symlink(path.join('..', 'layers', hex, 'diff'), path.join(this.dir, 'l', name));
        return name;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
    throw new FailedPreconditionError('create layer link: no free short name after 20 tries');
  }

  /**
   * Deletes a layer and its link (missing is fine). The layer's files go after the answer: the
   * directory is renamed into `<dir>/tmp/` (which init empties, so a crash leaves nothing) and
   * deleted from there in the background; a recursive delete of a few hundred entries is most
   * of RemoveImage otherwise (5-14 ms for busybox here).
   */
  async remove(chainId: string): Promise<void> {
    const meta = this.layers.get(chainId);
    this.layers.delete(chainId);
    const dir = path.join(this.dir, 'layers', hexOf(chainId));
    // Remove meta.json first so a crash mid-delete is seen as an unfinished layer at start.
    await fs.rm(path.join(dir, 'meta.json'), { force: true });
    if (meta) await fs.rm(path.join(this.dir, 'l', meta.link), { force: true });
    const trash = path.join(this.dir, 'tmp', `removed-${hexOf(chainId).slice(0, 16)}-${randomBytes(4).toString('hex')}`);
    const moved = await fs.rename(dir, trash).then(
      () => true,
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return false;
        throw err;
      },
    );
    if (!moved) return;
    const deletion = fs.rm(trash, { recursive: true, force: true }).catch(() => undefined); // init empties tmp/ anyway
    this.deletions.add(deletion);
    void deletion.finally(() => this.deletions.delete(deletion));
  }

  /** Resolves once the files of removed layers are deleted. */
  async removalsSettled(): Promise<void> {
    while (this.deletions.size > 0) await Promise.all([...this.deletions]);
  }

  /** Every stored chain ID. */
  chainIdsStored(): string[] {
    return [...this.layers.keys()];
  }
}
