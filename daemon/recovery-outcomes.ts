/** Converts each layer's own recovery report into the common step outcome of recovery.ts. */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { RecoveryReport as PodRecoveryReport } from '../pod/recover-sandboxes';
import type { ContainerRecoveryReport } from '../runtime/container-recovery';
import type { RecoveryStepOutcome } from './recovery';

/** The image store's init report (ImageStorage.recoveryReport()). */
export interface ImageRecoveryReport {
  images: number;
  droppedIncomplete: string[];
  unreadable: Array<{ id: string; file: string; error: string }>;
  tempFilesRemoved: string[];
}

/** Step 1's outcome. */
export function imageOutcome(r: ImageRecoveryReport): RecoveryStepOutcome {
  return { kept: r.images, cleaned: [...r.droppedIncomplete, ...r.tempFilesRemoved], unreadable: r.unreadable, details: r };
}

/** Step 3's outcome. */
export function podOutcome(r: PodRecoveryReport): RecoveryStepOutcome {
  return {
    kept: r.running.length + r.notReady.length,
    cleaned: [...r.discarded, ...r.swept],
    unreadable: r.unreadable,
    details: { running: r.running.length, notReady: r.notReady, discarded: r.discarded, swept: r.swept },
  };
}

/** Step 4's outcome (an absent report means nothing was loaded). */
export function containerOutcome(r: ContainerRecoveryReport | undefined): RecoveryStepOutcome {
  if (!r) return { kept: 0, cleaned: [], unreadable: [] };
  return {
    kept: r.alive.length + r.exitedWhileDown.length + r.lost.length,
    cleaned: [...r.orphanDirsRemoved, ...r.strayFilesRemoved],
    unreadable: r.unreadable,
    details: { alive: r.alive.length, exitedWhileDown: r.exitedWhileDown, lost: r.lost, relaunch: r.relaunch, orphanDirsRemoved: r.orphanDirsRemoved, strayFilesRemoved: r.strayFilesRemoved.length },
  };
}

/** True when `<root>/pods/<id>` exists (readable or not): the CNI sweep must leave its attachment alone. */
export async function podStateExists(root: string, podId: string): Promise<boolean> {
  return fs.access(path.join(root, 'pods', podId)).then(
    () => true,
    () => false,
  );
}
