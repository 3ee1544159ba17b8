/** Finds every FuzzTarget exported by the modules in the targets folder next to this one. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FuzzTarget } from './target';

/** The compiled targets folder (this module runs from dist/test/fuzz). */
export const TARGETS_DIR = path.join(__dirname, 'targets');

function isFuzzTarget(value: unknown): value is FuzzTarget {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<FuzzTarget>;
  return typeof v.name === 'string' && typeof v.seeds === 'function' && typeof v.run === 'function';
}

/** Every target, sorted by name; two targets with one name is an error. */
export function loadTargets(dir = TARGETS_DIR): FuzzTarget[] {
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.js') && !f.endsWith('.test.js')) : [];
  const byName = new Map<string, FuzzTarget>();
  for (const file of files.sort()) {
    const exports: Record<string, unknown> = require(path.join(dir, file));
    for (const value of Object.values(exports)) {
      if (!isFuzzTarget(value)) continue;
      if (byName.has(value.name) && byName.get(value.name) !== value) throw new Error(`fuzz target name ${value.name} is used twice (${file})`);
      byName.set(value.name, value);
    }
  }
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}
