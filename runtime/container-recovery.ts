/**
 * Recovery of containers at berthd start (CONVENTIONS 7). Assumptions:
 *
 * - conmon outlives berthd and writes `<exits>/<id>` when the container ends; the exit watcher's
 *   initial scan (run before this) already settled every container that has an exit file.
 * - For a record still `created`/`running` without an exit file, `runc state` is the truth:
 *   running/created/paused → keep it (refresh the pid); stopped with its conmon alive → conmon is
 *   about to write the exit file, leave it; anything else (runc does not know it, e.g. /run was
 *   wiped by a reboot, or it stopped and its conmon is gone) → the exit code is lost: record the
 *   container as exited with code 255 and say why.
 * - Overlay mounts do not survive a reboot; Remove tolerates an already unmounted rootfs.
 * - A container directory without state.json is a Create that died before its record was written
 *   (berthd crashed mid-create): nothing else refers to it, so its rootfs is unmounted and the
 *   directory deleted — but only once the unmount succeeded or nothing was mounted, so a
 *   recursive delete never runs through a live overlay.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { describeError, errnoCode } from '../common/errors';
import type { Logger } from '../common/logger';
import type { ContainerRecord } from './container-record';
import type { ContainerStore } from './container-store';
import type { RuntimeNative } from './interfaces';
import type { OciRuntimeDriver } from './oci-runtime';

/** Exit code recorded when the real one was lost. */
export const LOST_EXIT_CODE = 255;

/** Reconciles live records with the runtime; returns the ids it marked exited. */
export async function reconcileContainers(opts: {
  store: ContainerStore;
  runtimeFor: (handler: string) => OciRuntimeDriver;
  logger: Logger;
  nowNs: () => number;
}): Promise<string[]> {
  const lost: string[] = [];
  for (const rec of opts.store.list()) {
    if (rec.state !== 'created' && rec.state !== 'running') continue;
    try {
      const verdict = await inspect(rec, opts.runtimeFor(rec.runtimeHandler));
      if (verdict.kind === 'alive') {
        if (verdict.pid > 0 && verdict.pid !== rec.pid) await opts.store.update(rec.id, (r) => void (r.pid = verdict.pid));
        continue;
      }
      if (verdict.kind === 'pending-exit') continue;
      await opts.store.update(rec.id, (r) => {
        if (r.state === 'exited') return false; // an exit report won the race: keep its real code
        r.state = 'exited';
        r.exitCode = LOST_EXIT_CODE;
        r.finishedAtNs = Math.max(opts.nowNs(), r.startedAtNs);
        r.reason = 'Error';
        r.message = verdict.why;
        r.pid = 0;
      });
      lost.push(rec.id);
      opts.logger.warn('container lost while berthd was down', { container: rec.id, why: verdict.why });
    } catch (err) {
      opts.logger.warn('reconcile container failed', { container: rec.id, err: describeError(err) });
    }
  }
  return lost;
}

type Verdict = { kind: 'alive'; pid: number } | { kind: 'pending-exit' } | { kind: 'lost'; why: string };

async function inspect(rec: ContainerRecord, runtime: OciRuntimeDriver): Promise<Verdict> {
  const state = await runtime.state(rec.id);
  if (!state) {
    // A create that never reached runc (berthd stopped between Create and Start) is still startable.
    if (rec.state === 'created' && rec.pid <= 0) return { kind: 'alive', pid: 0 };
    return { kind: 'lost', why: 'the runtime no longer knows the container (host reboot or runtime state wiped)' };
  }
  if (state.status === 'running' || state.status === 'created' || state.status === 'paused' || state.status === 'creating') {
    return { kind: 'alive', pid: state.pid };
  }
  return (await conmonAlive(rec)) ? { kind: 'pending-exit' } : { kind: 'lost', why: 'the container stopped and its monitor is gone, so its exit code is unknown' };
}

async function conmonAlive(rec: ContainerRecord): Promise<boolean> {
  try {
    const pid = Number((await fs.readFile(path.join(rec.paths.dir, 'conmon.pid'), 'utf8')).trim());
    if (!(pid > 0)) return false;
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Removes container directories that have no record (creates interrupted by a crash); returns their ids. */
export async function removeOrphanContainerDirs(opts: { store: ContainerStore; native: RuntimeNative; logger: Logger }): Promise<string[]> {
  const removed: string[] = [];
  const names = await fs.readdir(opts.store.dir).catch(() => [] as string[]);
  for (const id of names) {
    if (opts.store.get(id) || id.startsWith('.')) continue;
    const dir = opts.store.containerDir(id);
    if (await fs.access(path.join(dir, 'state.json')).then(() => true, () => false)) continue; // unreadable record: keep for a human
    try {
      await opts.native.unmount(path.join(dir, 'bundle', 'rootfs'), ['detach']);
    } catch (err) {
      const code = errnoCode(err);
      if (code !== 'EINVAL' && code !== 'ENOENT') {
        opts.logger.warn('keep orphan container dir: rootfs unmount failed', { container: id, err: describeError(err) });
        continue;
      }
    }
    await fs.rm(dir, { recursive: true, force: true });
    removed.push(id);
    opts.logger.info('removed the leftovers of an interrupted create', { container: id });
  }
  return removed;
}
