/**
 * The part of RemoveContainer that need not hold up its answer. A container that had already
 * exited when RemoveContainer came is taken out of the store with one rename: its directory, the
 * record inside it, moves into `<containers>/.removed/` (a dot name: the store and recovery skip
 * it). The answer goes out then; the teardown follows in the background: the runtime's delete
 * (runc state directory, cgroups, leftover processes killed), the rootfs overlay and idmapped
 * layers unmounted (an overlay's unmount syncs the whole filesystem under its upper dir: a few
 * ms, far more on a busy disk), the exit file, and last the directory itself. A container still
 * running is killed and torn down before the answer, as always; only its directory goes later.
 *
 * Nothing can leak across a crash: the record travels with the directory, so `sweep()` at the
 * next start finds every unfinished teardown in the trash, with what it needs (runtime handler,
 * paths), and finishes it. A crash that loses the rename itself (not yet on disk) brings the
 * container back, exited, and kubelet removes it again; every step is idempotent.
 *
 * A pod's removal waits for its containers' teardowns (`podSettled`), so their cgroups and mounts
 * are gone before the pod's. A failed teardown is retried with a growing delay, at once when a
 * pod removal waits for it (whose failure it then is), and at the next start; its directory
 * stays until it succeeded, so a recursive delete never walks into a mount.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { describeError, errnoCode, RuntimeError } from '../common/errors';
import { KeyedMutex } from '../common/keyed-mutex';
import type { Logger } from '../common/logger';
import { CONTAINER_RECORD_VERSION, type ContainerRecord } from './container-record';
import { unmountIdmappedLayers } from './idmapped-rootfs';
import { imageVolumeMountPoints, unmountImageVolume } from './image-volumes';
import type { RuntimeNative } from './interfaces';
import type { OciRuntimeDriver } from './oci-runtime';

/**
 * How long a removal waits before its teardown starts: its runtime delete, unmount and few dozen
 * file operations would otherwise queue in libuv's thread pool (and the unmount's sync on the
 * disk) ahead of the next request's; kubelet often creates the replacement container right after
 * the remove. A pod removal waiting for it starts it at once. Not much longer: removed
 * containers piling up slow the live ones (bench CRI sequence, 60 containers: with 5 s instead of
 * 200 ms, Create's overlay mount took 4.7-8.7 ms instead of 1.5-2.9 ms, Start 20% longer).
 */
const TEARDOWN_DELAY_MS = 200;
/** First retry of a failed teardown; each further one waits twice as long, up to RETRY_MAX_MS. */
const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 60_000;

/** Name of the directory (under the containers directory) of removed containers' directories. */
export const REMOVED_DIR_NAME = '.removed';

/** What a teardown needs of a container's record. */
export type RemovedContainer = Pick<ContainerRecord, 'id' | 'podSandboxId' | 'runtimeHandler' | 'paths'>;

/** What the teardown uses of the host. */
export interface RemovalDeps {
  runtimeFor(handler: string): OciRuntimeDriver;
  native: RuntimeNative;
  exitDir: string;
  logger: Logger;
}

/**
 * Releases what a stopped container holds: its runtime state (`delete --force`: state directory,
 * cgroups, processes left in them), its rootfs overlay and idmapped layers, image volume mounts
 * found on disk, and its exit file. Idempotent: what is gone already is fine.
 */
export async function tearDownContainer(deps: RemovalDeps, rec: RemovedContainer): Promise<void> {
  await deps.runtimeFor(rec.runtimeHandler).delete(rec.id, true);
  await unmountContainerMounts(deps.native, rec.paths);
  await fs.rm(path.join(deps.exitDir, rec.id), { force: true });
}

/** Unmounts the rootfs, idmapped layers and image volumes under a container's directory; what is not mounted is fine. */
async function unmountContainerMounts(native: RemovalDeps['native'], paths: Pick<RemovedContainer['paths'], 'dir' | 'rootfs'>): Promise<void> {
  try {
    await native.unmount(paths.rootfs);
  } catch (err) {
    const code = errnoCode(err);
    // EINVAL/ENOENT: not mounted (any more)
    if (code !== 'EINVAL' && code !== 'ENOENT') throw new RuntimeError(`unmount rootfs ${paths.rootfs}`, { cause: err });
  }
  // A container of a pod with a user namespace: its idmapped layers and bind sources (none otherwise).
  await unmountIdmappedLayers(native, paths.dir);
  for (const mountPoint of await imageVolumeMountPoints(paths.dir)) await unmountImageVolume(native, mountPoint);
}

/** `rec` with every path below its directory moved below `dir`. */
function relocated(rec: RemovedContainer, dir: string): RemovedContainer {
  const from = rec.paths.dir;
  const move = (p: string) => (p === from ? dir : p.startsWith(from + path.sep) ? dir + p.slice(from.length) : p);
  return { ...rec, paths: { dir, bundle: move(rec.paths.bundle), rootfs: move(rec.paths.rootfs) } };
}

interface PendingTeardown {
  /** The pod whose removal waits for it; none for a directory without a readable record. */
  podId?: string;
  run(): Promise<void>;
  /** The directory to delete once torn down. */
  dir?: string;
  attempt?: Promise<void>;
  timer?: NodeJS.Timeout;
  failures: number;
}

/** Removed containers whose teardown or directory deletion has not finished. */
export class ContainerRemovals {
  private readonly trash: string;
  private ready: Promise<void> | undefined;
  /** Unfinished teardowns, by trash entry (by container id when the directory was gone already). */
  private readonly teardowns = new Map<string, PendingTeardown>();
  private readonly deletes = new Set<Promise<void>>();
  /** What the sweep found is torn down one at a time (after a reboot each is a `runc delete` spawn). */
  private readonly sweepQueue = new KeyedMutex();
  private closed = false;

  constructor(
    containersDir: string,
    private readonly deps: RemovalDeps,
  ) {
    this.trash = path.join(containersDir, REMOVED_DIR_NAME);
  }

  /**
   * Takes a stopped container's directory `dir` (its record inside) out of the store's tree (the
   * store's delete runs this before it forgets the record). `tornDown` (the caller tore it down
   * already): only the directory is left to delete; else the teardown follows in the background.
   * When the directory cannot be moved (another filesystem), the teardown and delete happen here.
   */
  async takeAway(dir: string, rec: RemovedContainer, tornDown: boolean): Promise<void> {
    const aside = await this.moveAside(dir, rec.id);
    if (aside === 'elsewhere') {
      if (!tornDown) await tearDownContainer(this.deps, rec);
      await fs.rm(dir, { recursive: true, force: true });
      return;
    }
    if (!tornDown) this.finishLater(aside ? relocated(rec, aside) : rec, aside, TEARDOWN_DELAY_MS);
    else if (aside) this.deleteInBackground(aside, TEARDOWN_DELAY_MS);
  }

  /** Finds what an earlier daemon left in the trash and finishes it in the background: teardowns from the records, then deletes. */
  async sweep(): Promise<void> {
    let names: string[];
    try {
      names = await fs.readdir(this.trash);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') this.deps.logger.warn('list removed container directories', { dir: this.trash, err });
      return;
    }
    for (const name of names) {
      const dir = path.join(this.trash, name);
      const rec = await this.readRemovedRecord(dir);
      // No record: its teardown had finished before its delete began (or it predates records in the trash); unmount to be sure.
      const tearDown = rec ? () => tearDownContainer(this.deps, relocated(rec, dir)) : () => unmountContainerMounts(this.deps.native, { dir, rootfs: path.join(dir, 'bundle', 'rootfs') });
      const teardown: PendingTeardown = { podId: rec?.podSandboxId, run: () => this.sweepQueue.run('sweep', tearDown), dir, failures: 0 };
      this.teardowns.set(dir, teardown);
      this.schedule(dir, teardown, 0);
    }
  }

  /** Waits for the teardowns of pod `podId`'s removed containers (starting them now); throws when one fails again. */
  async podSettled(podId: string): Promise<void> {
    const mine = [...this.teardowns].filter(([, t]) => t.podId === podId);
    const results = await Promise.allSettled(mine.map(([key, t]) => this.attempt(key, t)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw new RuntimeError(`tear down the removed containers of pod ${podId}`, { cause: failed.reason });
  }

  /** Resolves when every teardown (one attempt each, started now) and every directory delete started so far has finished. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.teardowns].map(([key, t]) => this.attempt(key, t)));
    while (this.deletes.size > 0) await Promise.all([...this.deletes]);
  }

  /** Stops starting teardowns (daemon shutdown); the next start's sweep finishes them. */
  close(): void {
    this.closed = true;
    for (const t of this.teardowns.values()) clearTimeout(t.timer);
  }

  /** Renames `dir` into the trash: its new path, undefined when it does not exist, 'elsewhere' when it cannot be renamed there. */
  private async moveAside(dir: string, id: string): Promise<string | undefined | 'elsewhere'> {
    this.ready ??= fs.mkdir(this.trash, { recursive: true, mode: 0o700 }).then(() => undefined);
    try {
      await this.ready;
    } catch (err) {
      this.ready = undefined;
      throw err;
    }
    const target = path.join(this.trash, `${id}-${randomBytes(4).toString('hex')}`);
    try {
      await fs.rename(dir, target);
      return target;
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT') return undefined;
      if (code === 'EXDEV') return 'elsewhere';
      throw err;
    }
  }

  /** The record a removed container's directory carries; undefined (logged when present but unusable) otherwise. */
  private async readRemovedRecord(dir: string): Promise<RemovedContainer | undefined> {
    let text: string;
    try {
      text = await fs.readFile(path.join(dir, 'state.json'), 'utf8');
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') this.deps.logger.warn('read the record of a removed container', { dir, err: describeError(err) });
      return undefined;
    }
    try {
      const rec = JSON.parse(text) as Partial<ContainerRecord>;
      const usable =
        rec.version === CONTAINER_RECORD_VERSION &&
        typeof rec.id === 'string' &&
        typeof rec.podSandboxId === 'string' &&
        typeof rec.runtimeHandler === 'string' &&
        typeof rec.paths?.dir === 'string' &&
        typeof rec.paths.rootfs === 'string' &&
        typeof rec.paths.bundle === 'string';
      if (usable) return rec as RemovedContainer;
    } catch {
      // reported below
    }
    this.deps.logger.warn('removed container has an unusable record: its runtime state is not deleted', { dir });
    return undefined;
  }

  private finishLater(rec: RemovedContainer, dir: string | undefined, delayMs: number): void {
    const key = dir ?? rec.id;
    const teardown: PendingTeardown = { podId: rec.podSandboxId, run: () => tearDownContainer(this.deps, rec), dir, failures: 0 };
    this.teardowns.set(key, teardown);
    this.schedule(key, teardown, delayMs);
  }

  private schedule(key: string, t: PendingTeardown, delayMs: number): void {
    if (this.closed) return;
    clearTimeout(t.timer);
    t.timer = setTimeout(() => void this.attempt(key, t).catch(() => undefined), delayMs);
    t.timer.unref();
  }

  /** Runs the teardown now (or joins the one running); on success deletes its directory, on failure schedules a retry. */
  private attempt(key: string, t: PendingTeardown): Promise<void> {
    if (t.attempt) return t.attempt;
    clearTimeout(t.timer);
    t.timer = undefined;
    const attempt = t.run().then(
      () => {
        this.teardowns.delete(key);
        if (t.dir) this.deleteInBackground(t.dir, 0);
      },
      (err: unknown) => {
        t.failures++;
        const retryMs = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** (t.failures - 1));
        this.deps.logger.warn('tear down removed container failed; retrying', { container: key, retryMs, err: describeError(err) });
        this.schedule(key, t, retryMs);
        throw err;
      },
    );
    t.attempt = attempt.finally(() => (t.attempt = undefined));
    t.attempt.catch(() => undefined);
    return t.attempt;
  }

  private deleteInBackground(dir: string, delayMs: number): void {
    const done = new Promise<void>((resolve) => setTimeout(resolve, delayMs).unref())
      .then(() => fs.rm(dir, { recursive: true, force: true }))
      .catch((err: unknown) => this.deps.logger.warn('delete removed container directory (retried at the next start)', { dir, err }))
      .finally(() => this.deletes.delete(done));
    this.deletes.add(done);
  }
}

