/**
 * Recovery of pods at berthd start (ARCHITECTURE: pods outlive berthd).
 *
 * Assumptions:
 * - state.json is the truth about which pods exist; it was written before any reply.
 * - A `ready`/`notready` record's pause is still ours only if /proc/<pid>/stat's starttime matches
 *   the one recorded (pids are reused); then it is watched again, else the pod is NOTREADY.
 * - A `creating` record means berthd died mid-RunPodSandbox: kubelet never got an id, so the pod
 *   is discarded. Its resources are found by their derived names (shm dir, pins, pod cgroup, CNI
 *   cache by pod id), not by the record, which was written before they existed; any process left
 *   in the pod cgroup is the orphaned pause and is killed.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { describeError } from '../common/errors';
import { Logger } from '../common/logger';
import type { NamespaceKind } from '../native/binding';
import { PodNativeOps, PodNetwork, ProcessControl } from './dependencies';
import { pinPath, unpinNamespace } from './namespace-pins';
import { PodCgroups, podCgroupName } from './pod-cgroups';
import { SandboxRecord, SandboxStore } from './sandbox-store';
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
  discarded: string[];
}

/**
 * Loads every record; `adopt` is called for each kept pod with whether its pause still runs.
 * Crashed creations are torn down and deleted.
 */
export async function recoverSandboxes(
  deps: RecoveryDeps,
  adopt: (record: SandboxRecord, pauseAlive: boolean) => Promise<void>,
): Promise<RecoveryReport> {
  const report: RecoveryReport = { running: [], notReady: [], discarded: [] };
  for (const record of await deps.store.loadAll()) {
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
  return report;
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
  for (const kind of ['net', 'ipc', 'uts', 'pid'] as NamespaceKind[]) {
    await attempt(`unpin ${kind}`, () => unpinNamespace(deps.native, pinPath(deps.runRoot, kind, id)));
  }
  await attempt('remove cgroup', () => deps.cgroups.remove(cgroupDirs));
  await attempt('remove volatile dir', () => fs.rm(volatileDirOf(deps.runRoot, id), { recursive: true, force: true }));
  await attempt('delete state', () => deps.store.delete(id));
  log.info('recover: discarded a pod whose creation was interrupted');
}
