/**
 * The clean-shutdown marker `<runRoot>/berthd.clean`: written as the very last step of a graceful
 * stop (after the CRI server drained and every layer closed), consumed (read and deleted) first
 * thing at start. Present ⇒ the previous berthd stopped cleanly; absent ⇒ it crashed, was
 * SIGKILLed, timed out while stopping, or this is the first start / the node rebooted (run-root is
 * volatile) — all cases where recovery must be thorough.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { readJsonIfExists, writeJsonAtomic } from '../common/atomic-file';
import { errnoCode, RuntimeError } from '../common/errors';

/** File name of the marker inside the run root. */
export const SHUTDOWN_MARKER_NAME = 'berthd.clean';

/** What the marker holds (for humans and logs; only its presence matters). */
export interface ShutdownMarker {
  pid: number;
  stoppedAt: string;
  version: string;
}

/** How the previous berthd ended. */
export type PreviousShutdown = { clean: true; marker: ShutdownMarker } | { clean: false };

/** Path of the marker for `runRoot`. */
export function shutdownMarkerPath(runRoot: string): string {
  return path.join(runRoot, SHUTDOWN_MARKER_NAME);
}

/** Writes the marker atomically (last step of a graceful stop). */
export async function writeShutdownMarker(runRoot: string, version: string): Promise<void> {
  const marker: ShutdownMarker = { pid: process.pid, stoppedAt: new Date().toISOString(), version };
  try {
    await fs.mkdir(runRoot, { recursive: true });
    await writeJsonAtomic(shutdownMarkerPath(runRoot), marker, 0o600);
  } catch (err) {
    throw new RuntimeError(`write clean-shutdown marker in ${runRoot}`, { cause: err });
  }
}

/**
 * Reads and deletes the marker (first step at start), so a crash of THIS run is seen as one.
 * A marker that exists but cannot be parsed still means a clean stop (it was written atomically,
 * so only a foreign hand can have broken it).
 */
export async function consumeShutdownMarker(runRoot: string): Promise<PreviousShutdown> {
  const file = shutdownMarkerPath(runRoot);
  let marker: ShutdownMarker | undefined;
  let present = false;
  try {
    marker = await readJsonIfExists<ShutdownMarker>(file);
    present = marker !== undefined;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return { clean: false };
    present = true; // exists but is not JSON
  }
  if (!present) return { clean: false };
  try {
    await fs.rm(file, { force: true });
  } catch (err) {
    throw new RuntimeError(`remove clean-shutdown marker ${file}`, { cause: err });
  }
  return { clean: true, marker: marker ?? { pid: 0, stoppedAt: '', version: '' } };
}
