/**
 * Recovery of pods at berthd start (pods outlive berthd: docs/contributing.md, "State and recovery").
 *
 * Assumptions:
 * - state.json is the truth about which pods exist; it was written before any reply.
 * - A `ready`/`notready` record's pause is still ours only if /proc/<pid>/stat's starttime matches
 *   the one recorded (pids are reused); then it is watched again, else the pod is NOTREADY.
 * - A `creating` record means berthd died mid-RunPodSandbox: kubelet never got an id, so the pod
 *   is discarded. Its resources are found by their derived names (shm dir, pins, pod cgroup, CNI
 *   cache by pod id), not by the record, which was written before they existed; any process left
 *   in the pod cgroup is the orphaned pause and is killed.
 * - A state.json that cannot be read or parsed never stops recovery: the pod is reported in
 *   `unreadable` with its id and left on disk untouched (its resources too) for a human.
 * - After a crash (`thorough`), volatile pod dirs and namespace pins whose pod has no record at all
 *   (a crash between creating them and the first record write, or mid-Remove after the record was
 *   deleted) are unmounted and removed, and state dirs without a state.json are deleted.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { describeError } from '../common/errors';
import { Logger } from '../common/logger';
import type { NamespaceKind } from '../native/binding';
import { PodNativeOps, PodNetwork, ProcessControl } from './dependencies';
import { pinPath, unpinNamespace } from './namespace-pins';
import { PodCgroups, podCgroupName } from './pod-cgroups';
import { SandboxRecord, SandboxStore, UnreadableSandbox } from './sandbox-store';
import { unmountShm } from './shm';
import { volatileDirOf } from './start-sandbox';

/** What recovery needs. */
export interface RecoveryDeps {
  store: SandboxStore;
  native: PodNativeOps;
  network: PodNetwork;
  processes: ProcessControl;
  cgroups: PodCgroups;
  cgroupMountPoints: readonly string[];
  runRoot: string;
  logger: Logger;
}

/** How recovery went. */
export interface RecoveryReport {
  running: string[];
  notReady: string[];
  /** `creating` records (crash mid-RunPodSandbox) torn down and deleted. */
  discarded: string[];
  /** State files that could not be used; their pods are skipped and left on disk. */
  unreadable: UnreadableSandbox[];
  /** Pod ids whose leftovers without any record were removed (thorough recovery only). */
  swept: string[];
}

/** Recovery options. */
export interface RecoveryOptions {
  /** Also sweep leftovers that have no record (after a crash). */
  thorough?: boolean;
}

/**
 * Loads every record; `adopt` is called for each kept pod with whether its pause still runs.
 * Crashed creations are torn down and deleted.
 */
export async function recoverSandboxes(
  deps: RecoveryDeps,
  adopt: (record: SandboxRecord, pauseAlive: boolean) => Promise<void>,
  options: RecoveryOptions = {},
): Promise<RecoveryReport> {
  const loaded = await deps.store.loadAll();
  const report: RecoveryReport = { running: [], notReady: [], discarded: [], unreadable: loaded.unreadable, swept: [] };
  for (const bad of loaded.unreadable) deps.logger.error('recover: skipping unreadable pod state', { pod: bad.id, file: bad.file, error: bad.error });
  for (const record of loaded.records) {
    const id = record.info.id;
    if (record.phase === 'creating') {
      await discardCrashedCreation(deps, record);
      report.discarded.push(id);
      continue;
    }
    const pid = record.runtime.pausePid;
    const alive =
      pid !== undefined &&
      !record.runtime.pauseExitedAt &&
      deps.processes.isAlive(pid) &&
      deps.processes.startTime(pid) === record.runtime.pauseStartTime;
    await adopt(record, alive);
    (alive && record.phase === 'ready' ? report.running : report.notReady).push(id);
  }
  if (options.thorough) {
    const keep = new Set([...deps.store.all().map((r) => r.info.id), ...loaded.unreadable.map((u) => u.id)]);
    report.swept = await sweepLeftovers(deps, keep, loaded.withoutRecord);
  }
  return report;
}

/**
 * Removes volatile dirs, namespace pins and record-less state dirs of pods not in `keep`;
 * returns the pod ids it cleaned up after.
 */
async function sweepLeftovers(deps: RecoveryDeps, keep: ReadonlySet<string>, stateDirsWithoutRecord: readonly string[]): Promise<string[]> {
  const swept = new Set<string>();
  const attempt = async (id: string, what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
      swept.add(id);
    } catch (err) {
      deps.logger.warn(`recover: ${what} failed`, { pod: id, error: describeError(err) });
    }
  };
  for (const id of stateDirsWithoutRecord) {
    if (!keep.has(id)) await attempt(id, 'remove state dir without record', () => fs.rm(deps.store.dirOf(id), { recursive: true, force: true }));
  }
  for (const kind of ['net', 'ipc', 'uts', 'pid', 'user'] as NamespaceKind[]) {
    for (const id of await fs.readdir(path.join(deps.runRoot, 'ns', kind)).catch(() => [] as string[])) {
      if (!keep.has(id)) await attempt(id, `unpin orphaned ${kind} namespace`, () => unpinNamespace(deps.native, pinPath(deps.runRoot, kind, id)));
    }
  }
  for (const id of await fs.readdir(path.join(deps.runRoot, 'pods')).catch(() => [] as string[])) {
    if (keep.has(id) || id.startsWith('.')) continue;
    const dir = volatileDirOf(deps.runRoot, id);
    // Unmount shm first: a recursive delete must never run through a live tmpfs.
    await attempt(id, 'remove orphaned volatile dir', async () => {
      await unmountShm(deps.native, path.join(dir, 'shm'));
      await fs.rm(dir, { recursive: true, force: true });
    });
  }
  if (swept.size > 0) deps.logger.info('recover: removed leftovers of pods without a record', { pods: [...swept] });
  return [...swept];
}

/** Undoes whatever a RunPodSandbox interrupted by a crash had done; logs and continues on errors. */
async function discardCrashedCreation(deps: RecoveryDeps, record: SandboxRecord): Promise<void> {
  const id = record.info.id;
  const log = deps.logger.child({ pod: id });
  const attempt = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (err) {
      log.warn(`recover: ${what} failed`, { error: describeError(err) });
    }
  };
  const relative = path.posix.join(record.info.cgroupParent, podCgroupName(id));
  const cgroupDirs = deps.cgroupMountPoints.map((mp) => path.join(mp, relative));
  await attempt('kill orphaned pause', async () => {
    for (const dir of cgroupDirs) {
      const procs = await fs.readFile(path.join(dir, 'cgroup.procs'), 'utf8').catch(() => '');
      for (const pid of procs.split('\n').filter(Boolean).map(Number)) {
        try {
          deps.processes.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }
  });
  const netns = pinPath(deps.runRoot, 'net', id);
  const { name, namespace, uid } = record.info;
  await attempt('tear down network', () => deps.network.tearDownPod({ id, name, namespace, uid, netnsPath: netns }));
  await attempt('unmount shm', () => unmountShm(deps.native, path.join(volatileDirOf(deps.runRoot, id), 'shm')));
  for (const kind of ['net', 'ipc', 'uts', 'pid', 'user'] as NamespaceKind[]) {
    await attempt(`unpin ${kind}`, () => unpinNamespace(deps.native, pinPath(deps.runRoot, kind, id)));
  }
  await attempt('remove cgroup', () => deps.cgroups.remove(cgroupDirs));
  await attempt('remove volatile dir', () => fs.rm(volatileDirOf(deps.runRoot, id), { recursive: true, force: true }));
  await attempt('delete state', () => deps.store.delete(id));
  log.info('recover: discarded a pod whose creation was interrupted');
}
