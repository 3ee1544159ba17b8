/**
 * Deleting a removed container's directory (bundle, overlay upper and work dirs, logs of conmon,
 * state file) takes a few dozen file operations; RemoveContainer does not wait for them. Once the
 * container is unmounted and forgotten, its directory is moved with one rename into
 * `<containers>/.removed/` (a dot name: the store and recovery skip it) and deleted from there in
 * the background. What a stopped or crashed daemon left there is deleted by `sweep()` at the next
 * start, so nothing leaks across restarts. The caller must have unmounted everything below the
 * directory first: a recursive delete would otherwise walk into a mount.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { errnoCode } from '../common/errors';
import type { Logger } from '../common/logger';

/**
 * How long a moved-aside directory waits before it is deleted: its few dozen file operations
 * would otherwise queue in libuv's thread pool ahead of the next request's (kubelet often
 * creates the replacement container right after the remove).
 */
const DELETE_DELAY_MS = 200;

/** Name of the directory (under the containers directory) of directories being deleted. */
export const REMOVED_DIR_NAME = '.removed';

/** Container directories being deleted in the background. */
export class RemovedContainerDirs {
  private readonly trash: string;
  private readonly pending = new Set<Promise<void>>();
  private ready: Promise<void> | undefined;

  constructor(
    containersDir: string,
    private readonly logger: Logger,
  ) {
    this.trash = path.join(containersDir, REMOVED_DIR_NAME);
  }

  /**
   * Moves `dir` (a container's directory under the containers directory) aside and deletes it in
   * the background; a missing `dir` is fine. Falls back to deleting in place when it cannot be
   * moved (another filesystem).
   */
  async discard(dir: string, id: string): Promise<void> {
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
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT') return;
      if (code !== 'EXDEV') throw err;
      await fs.rm(dir, { recursive: true, force: true });
      return;
    }
    this.deleteInBackground(target);
  }

  /** Deletes (in the background) whatever an earlier daemon left in the trash. */
  async sweep(): Promise<void> {
    let names: string[];
    try {
      names = await fs.readdir(this.trash);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') this.logger.warn('list removed container directories', { dir: this.trash, err });
      return;
    }
    for (const name of names) this.deleteInBackground(path.join(this.trash, name));
  }

  /** Resolves when every background deletion started so far has finished. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  private deleteInBackground(target: string): void {
    const done = new Promise<void>((resolve) => setTimeout(resolve, DELETE_DELAY_MS).unref())
      .then(() => fs.rm(target, { recursive: true, force: true }))
      .catch((err: unknown) => this.logger.warn('delete removed container directory (retried at the next start)', { dir: target, err }))
      .finally(() => this.pending.delete(done));
    this.pending.add(done);
  }
}
