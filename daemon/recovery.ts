/**
 * Node recovery at berthd start: the one place that orders it and states what it assumes.
 *
 * Order (each step needs the previous ones):
 *   1. images     – the image store drops partial pulls (ingest blobs, unpack temp dirs, temp
 *                   record files) and records whose layers are gone; containers resolve images
 *                   from it.
 *   2. cniCache   – CNI attachments cached for a pod that has no state dir at all are DELeted
 *                   from the cached config/result (frees the IP in host-local's dir).
 *   3. pods       – records reloaded; live pause re-watched, dead pause ⇒ NOTREADY (stoppable,
 *                   removable); a `creating` record (crash mid-RunPodSandbox) is undone: CNI DEL
 *                   from the cached result, shm unmounted, namespaces unpinned, cgroup and dirs
 *                   removed. Names are claimed again so kubelet retries find the same ids.
 *   4. containers – records reloaded; exit files written while berthd was down give the real code
 *                   and finish time; no exit file and runc/conmon both gone ⇒ EXITED 255
 *                   `Unknown`; dirs of creates that died before their record are unmounted and
 *                   removed.
 *
 * Assumptions:
 * - Every state file was written atomically (tmp + fsync + rename) before the reply it backs, so
 *   a record is either complete or absent; a torn or foreign-edited one is reported as
 *   `unreadable` with its object id, skipped, and its files are left for a human — it never stops
 *   berthd. A whole step failing (its directory unreadable, EIO) does stop the start: serving
 *   without knowing which pods exist would let kubelet build duplicates.
 * - The clean-shutdown marker (shutdown-marker.ts) is consumed before step 1. Absent (crash,
 *   SIGKILL, stop timeout, reboot, first start) ⇒ `thorough`: leftovers that have no record at
 *   all (namespace pins, volatile pod dirs, exit files, temp files) are swept too. With the
 *   marker, nothing was in flight when the previous berthd stopped, so the sweep is skipped.
 * - Pods and containers outlive berthd; recovery never kills anything that a record still owns.
 */
import { describeError, RuntimeError } from '../common/errors';
import type { Logger } from '../common/logger';
import { consumeShutdownMarker } from './shutdown-marker';

/** Names of the recovery steps, in the order they run. */
export const RECOVERY_STEPS = ['images', 'cniCache', 'pods', 'containers'] as const;
export type RecoveryStepName = (typeof RECOVERY_STEPS)[number];

/** A state file a step could not use. */
export interface UnreadableState {
  id: string;
  file: string;
  error: string;
}

/** What one step did. */
export interface RecoveryStepOutcome {
  /** Objects reloaded and kept. */
  kept: number;
  /** Ids (or paths) of half-made objects and leftovers removed. */
  cleaned: string[];
  unreadable: UnreadableState[];
  /** The layer's own report, for the log. */
  details?: unknown;
}

/** Each step receives whether recovery is thorough (the previous run did not stop cleanly). */
export type RecoveryStep = (thorough: boolean) => Promise<RecoveryStepOutcome>;

/** The whole report, logged once at start. */
export interface NodeRecoveryReport {
  previousShutdown: 'clean' | 'unclean';
  thorough: boolean;
  steps: Partial<Record<RecoveryStepName, RecoveryStepOutcome & { ms: number }>>;
  /** Every unreadable state file, with the step that met it. */
  unreadable: Array<UnreadableState & { step: RecoveryStepName }>;
}

/** Consumes the shutdown marker, runs the steps in order, logs and returns the report. */
export async function recoverNode(opts: { runRoot: string; logger: Logger; steps: Record<RecoveryStepName, RecoveryStep> }): Promise<NodeRecoveryReport> {
  const log = opts.logger.child({ component: 'recovery' });
  const previous = await consumeShutdownMarker(opts.runRoot);
  const thorough = !previous.clean;
  const report: NodeRecoveryReport = { previousShutdown: previous.clean ? 'clean' : 'unclean', thorough, steps: {}, unreadable: [] };
  log.info(thorough ? 'previous berthd did not stop cleanly; thorough recovery' : 'previous berthd stopped cleanly', { marker: previous.clean ? previous.marker : undefined });
  for (const name of RECOVERY_STEPS) {
    const started = performance.now();
    let outcome: RecoveryStepOutcome;
    try {
      outcome = await opts.steps[name](thorough);
    } catch (err) {
      throw new RuntimeError(`recover ${name}`, { cause: err });
    }
    const ms = Math.round((performance.now() - started) * 10) / 10;
    report.steps[name] = { ...outcome, ms };
    for (const u of outcome.unreadable) {
      report.unreadable.push({ ...u, step: name });
      log.error('unreadable state file skipped', { step: name, id: u.id, file: u.file, error: u.error });
    }
    log.info('recovery step done', { step: name, ms, kept: outcome.kept, cleaned: outcome.cleaned, unreadable: outcome.unreadable.length, details: outcome.details });
  }
  return report;
}

/** The narrow slice of the CNI manager the cache sweep needs. */
export interface CniCacheSweepTarget {
  attachedPodIds(): Promise<string[]>;
  tearDownPod(pod: { id: string; name: string; namespace: string; uid: string; netnsPath: string }): Promise<void>;
}

/**
 * Step 2: DEL every cached attachment whose pod has no state at all (`podKnown` false). A DEL
 * that fails is logged and the cache entry stays for the next start.
 */
export async function sweepCniCache(network: CniCacheSweepTarget, podKnown: (id: string) => Promise<boolean>, logger: Logger): Promise<RecoveryStepOutcome> {
  const ids = await network.attachedPodIds();
  const cleaned: string[] = [];
  let kept = 0;
  for (const id of ids) {
    if (await podKnown(id)) {
      kept++;
      continue;
    }
    try {
      await network.tearDownPod({ id, name: '', namespace: '', uid: '', netnsPath: '' });
      cleaned.push(id);
    } catch (err) {
      logger.warn('recover: CNI DEL of an attachment without a pod failed; kept for the next start', { pod: id, error: describeError(err) });
    }
  }
  return { kept, cleaned, unreadable: [] };
}
