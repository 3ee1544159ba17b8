/**
 * Recovery of containers at berthd start (docs/contributing.md, "State and recovery"). Assumptions:
 *
 * - conmon outlives berthd and writes `<exits>/<id>` when the container ends; the exit watcher's
 *   initial scan (run before this) already settled every container that has an exit file.
 * - A `created` record that runc also has as created, but whose conmon is dead (berthd died during
 *   the launch and took the handshake with it), has no monitor: it is deleted from runc and Start
 *   relaunches conmon. A `created` record runc has as running (Start interrupted before its
 *   record write) becomes running.
 * - For a record still `created`/`running` without an exit file, `runc state` is the truth:
 *   running/created/paused → keep it (refresh the pid); stopped with its conmon alive → conmon is
 *   about to write the exit file, leave it; anything else (runc does not know it, e.g. /run was
 *   wiped by a reboot, or it stopped and its conmon is gone) → the exit code is lost: record the
 *   container as exited with code 255 and reason `Unknown` (as containerd does), saying why.
 * - A state.json that cannot be read never stops recovery: the container is reported with its id
 *   and skipped; its directory is kept for a human (and is not an "orphan").
 * - Overlay mounts do not survive a reboot; Remove tolerates an already unmounted rootfs.
 * - A container directory without state.json is a Create that died before its record was written
 *   (berthd crashed mid-create): nothing else refers to it, so its rootfs is unmounted and the
 *   directory deleted (its image volumes unmounted too) — but only once the unmounts succeeded or
 *   nothing was mounted, so a recursive delete never runs through a live overlay.
 * - Image volumes of recorded containers stay mounted (the container may run); their images are
 *   registered as in use again so RemoveImage keeps refusing them.
 * - After a crash (`thorough`): exit files and atomic-write temp files that belong to no record
 *   are deleted (a crash between a record's delete and its exit file's).
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { describeError, errnoCode } from '../common/errors';
import type { Logger } from '../common/logger';
import { isRunning, readProcStat } from '../common/proc-stat';
import type { ContainerRecord } from './container-record';
import type { ContainerStore, UnreadableContainer } from './container-store';
import { imageVolumeMountPoints, registerRecoveredImageVolumes, unmountImageVolume } from './image-volumes';
import { unmountIdmappedLayers } from './idmapped-rootfs';
import type { ImageUseRegistry, RuntimeNative } from './interfaces';
import type { OciRuntimeDriver } from './oci-runtime';

/** Exit code recorded when the real one was lost. */
export const LOST_EXIT_CODE = 255;
/** Reason recorded when the real exit was lost (containerd's `Unknown`). */
export const LOST_REASON = 'Unknown';

/** What container recovery found. */
export interface ContainerRecoveryReport {
  /** Created/running records still alive in the runtime. */
  alive: string[];
  /** Exited while berthd was down; code and time came from conmon's exit file. */
  exitedWhileDown: string[];
  /** Monitor and process both gone without an exit file: exited 255 `Unknown`. */
  lost: string[];
  /** Created in runc but their conmon died during the launch: deleted from runc, Start relaunches. */
  relaunch: string[];
  /** Directories of creates interrupted before their record was written, removed. */
  orphanDirsRemoved: string[];
  /** Exit files / temp files without a record, removed (thorough only). */
  strayFilesRemoved: string[];
  unreadable: UnreadableContainer[];
}

/**
 * The whole start-up sequence: load records, start the exit watcher (its first scan settles
 * containers with an exit file), reconcile the rest with the runtime, remove orphan dirs, and
 * after a crash sweep stray files.
 */
export async function recoverContainers(opts: {
  store: ContainerStore;
  startExitWatcher: () => Promise<void>;
  runtimeFor: (handler: string) => OciRuntimeDriver;
  native: RuntimeNative;
  logger: Logger;
  nowNs: () => number;
  exitDir: string;
  thorough: boolean;
  imageUsers?: ImageUseRegistry;
}): Promise<ContainerRecoveryReport> {
  const { records, unreadable } = await opts.store.load();
  // Before anything can serve RemoveImage: an image still mounted as a volume must stay.
  registerRecoveredImageVolumes(opts.imageUsers, records);
  const wasLive = records.filter((r) => r.state === 'created' || r.state === 'running').map((r) => r.id);
  await opts.startExitWatcher();
  const exitedWhileDown = wasLive.filter((id) => opts.store.get(id)?.state === 'exited');
  const { lost, relaunch } = await reconcileContainers(opts);
  const orphanDirsRemoved = await removeOrphanContainerDirs({ ...opts, keep: new Set(unreadable.map((u) => u.id)) });
  const strayFilesRemoved = opts.thorough ? await removeStrayFiles(opts.store, opts.exitDir, unreadable, opts.logger) : [];
  const alive = wasLive.filter((id) => opts.store.get(id)?.state !== 'exited');
  return { alive, exitedWhileDown, lost, relaunch, orphanDirsRemoved, strayFilesRemoved, unreadable };
}

/** Deletes exit files of unknown containers and leftover atomic-write temp files; returns their paths. */
async function removeStrayFiles(store: ContainerStore, exitDir: string, unreadable: readonly UnreadableContainer[], logger: Logger): Promise<string[]> {
  const known = new Set([...store.list().map((r) => r.id), ...unreadable.map((u) => u.id)]);
  const removed: string[] = [];
  for (const name of await fs.readdir(exitDir).catch(() => [] as string[])) {
    if (!known.has(name)) removed.push(path.join(exitDir, name));
  }
  for (const rec of store.list()) {
    for (const name of await fs.readdir(rec.paths.dir).catch(() => [] as string[])) {
      if (name.startsWith('.state.json.tmp-')) removed.push(path.join(rec.paths.dir, name));
    }
  }
  await Promise.all(removed.map((f) => fs.rm(f, { force: true })));
  if (removed.length > 0) logger.info('recover: removed stray container files', { files: removed });
  return removed;
}

/** Reconciles live records with the runtime; returns the ids it marked exited (`lost`) and those reset for a relaunch. */
async function reconcileContainers(opts: {
  store: ContainerStore;
  runtimeFor: (handler: string) => OciRuntimeDriver;
  logger: Logger;
  nowNs: () => number;
}): Promise<{ lost: string[]; relaunch: string[] }> {
  const lost: string[] = [];
  const relaunch: string[] = [];
  for (const rec of opts.store.list()) {
    if (rec.state !== 'created' && rec.state !== 'running') continue;
    try {
      const verdict = await inspect(rec, opts.runtimeFor(rec.runtimeHandler));
      if (verdict.kind === 'alive') {
        // A Start interrupted after `runc start` but before its record write: it runs, so say so.
        const startedMeanwhile = verdict.running && rec.state === 'created';
        if ((verdict.pid > 0 && verdict.pid !== rec.pid) || startedMeanwhile) {
          await opts.store.update(rec.id, (r) => {
            if (verdict.pid > 0) r.pid = verdict.pid;
            if (startedMeanwhile && r.state === 'created') {
              r.state = 'running';
              r.startedAtNs = opts.nowNs();
            }
          });
        }
        continue;
      }
      if (verdict.kind === 'relaunch') {
        await opts.runtimeFor(rec.runtimeHandler).delete(rec.id, true);
        await opts.store.update(rec.id, (r) => void (r.pid = 0));
        relaunch.push(rec.id);
        opts.logger.warn('container created without a live monitor (berthd died during its launch); deleted from the runtime, Start relaunches it', { container: rec.id });
        continue;
      }
      if (verdict.kind === 'pending-exit') continue;
      await opts.store.update(rec.id, (r) => {
        if (r.state === 'exited') return false; // an exit report won the race: keep its real code
        r.state = 'exited';
        r.exitCode = LOST_EXIT_CODE;
        r.finishedAtNs = Math.max(opts.nowNs(), r.startedAtNs);
        r.reason = LOST_REASON;
        r.message = verdict.why;
        r.pid = 0;
      });
      lost.push(rec.id);
      opts.logger.warn('container lost while berthd was down', { container: rec.id, why: verdict.why });
    } catch (err) {
      opts.logger.warn('reconcile container failed', { container: rec.id, err: describeError(err) });
    }
  }
  return { lost, relaunch };
}

type Verdict =
  | { kind: 'alive'; pid: number; running: boolean }
  | { kind: 'relaunch' }
  | { kind: 'pending-exit' }
  | { kind: 'lost'; why: string };

async function inspect(rec: ContainerRecord, runtime: OciRuntimeDriver): Promise<Verdict> {
  const state = await runtime.state(rec.id);
  if (!state) {
    // A create that never reached runc (berthd stopped between Create and Start) is still startable.
    if (rec.state === 'created' && rec.pid <= 0) return { kind: 'alive', pid: 0, running: false };
    return { kind: 'lost', why: 'the runtime no longer knows the container (host reboot or runtime state wiped)' };
  }
  if ((state.status === 'created' || state.status === 'creating') && rec.state === 'created' && !(await conmonAlive(rec))) {
    // berthd died while conmon was launching: runc created the container but its monitor is gone,
    // so nothing would ever log it or report its exit. It never ran: delete it, Start relaunches.
    return { kind: 'relaunch' };
  }
  if (state.status === 'running' || state.status === 'created' || state.status === 'paused' || state.status === 'creating') {
    return { kind: 'alive', pid: state.pid, running: state.status !== 'created' && state.status !== 'creating' };
  }
  return (await conmonAlive(rec)) ? { kind: 'pending-exit' } : { kind: 'lost', why: 'the container stopped and its monitor is gone, so its exit code is unknown' };
}

/**
 * True while the container's conmon runs. kill(pid, 0) is not enough: a killed conmon whose parent
 * never reaps it (a minimal PID 1) stays a zombie, and a recycled pid may be anyone; so /proc's
 * state must not be Z/X and the command must be conmon.
 */
async function conmonAlive(rec: ContainerRecord): Promise<boolean> {
  try {
    const pid = Number((await fs.readFile(path.join(rec.paths.dir, 'conmon.pid'), 'utf8')).trim());
    if (!(pid > 0)) return false;
    const stat = await readProcStat(pid);
    return isRunning(stat) && stat.comm === 'conmon';
  } catch {
    return false;
  }
}

/** Removes container directories that have no record (creates interrupted by a crash); returns their ids. */
async function removeOrphanContainerDirs(opts: { store: ContainerStore; native: RuntimeNative; logger: Logger; keep?: ReadonlySet<string> }): Promise<string[]> {
  const removed: string[] = [];
  const names = await fs.readdir(opts.store.dir).catch(() => [] as string[]);
  for (const id of names) {
    if (opts.store.get(id) || id.startsWith('.') || opts.keep?.has(id)) continue;
    const dir = opts.store.containerDir(id);
    if (await fs.access(path.join(dir, 'state.json')).then(() => true, () => false)) continue; // unreadable record: keep for a human
    try {
      for (const mountPoint of await imageVolumeMountPoints(dir)) await unmountImageVolume(opts.native, mountPoint, ['detach']);
      await opts.native.unmount(path.join(dir, 'bundle', 'rootfs'), ['detach']);
    } catch (err) {
      const code = errnoCode(err);
      if (code !== 'EINVAL' && code !== 'ENOENT') {
        opts.logger.warn('keep orphan container dir: unmount failed', { container: id, err: describeError(err) });
        continue;
      }
    }
    // The recursive delete below must never run through an idmapped layer.
    try {
      await unmountIdmappedLayers(opts.native, dir);
    } catch (err) {
      opts.logger.warn('keep orphan container dir: idmapped layer unmount failed', { container: id, err: describeError(err) });
      continue;
    }
    await fs.rm(dir, { recursive: true, force: true });
    removed.push(id);
    opts.logger.info('removed the leftovers of an interrupted create', { container: id });
  }
  return removed;
}
