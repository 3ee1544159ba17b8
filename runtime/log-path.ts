/** Validates CRI log paths: the container's log must stay inside the pod's log directory. */
import * as path from 'node:path';
import { InvalidArgumentError } from '../common/errors';

/**
 * The absolute log file for `logPath` (relative to `logDirectory`); '' when the pod has no log
 * directory or the config no log path. `..` that climbs out, and absolute paths, are refused.
 */
export function containerLogPath(logDirectory: string, logPath: string): string {
  if (!logDirectory || !logPath) return '';
  if (!path.isAbsolute(logDirectory)) throw new InvalidArgumentError(`pod log_directory ${JSON.stringify(logDirectory)} is not absolute`);
  if (path.isAbsolute(logPath)) throw new InvalidArgumentError(`log_path ${JSON.stringify(logPath)} must be relative to the pod's log_directory`);
  if (logPath.includes('\0')) throw new InvalidArgumentError('log_path contains a NUL byte');
  const dir = path.resolve(logDirectory);
  const full = path.resolve(dir, logPath);
  const rel = path.relative(dir, full);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel) || logPath.split('/').includes('..')) {
    throw new InvalidArgumentError(`log_path ${JSON.stringify(logPath)} leaves the pod's log_directory ${dir}`);
  }
  return full;
}
