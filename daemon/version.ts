/** berth's version, read from package.json (works from the source tree and from dist/). */
import * as fs from 'node:fs';
import * as path from 'node:path';

let cached: string | undefined;

/** The package version, e.g. "0.1.0" ("0.0.0-unknown" if package.json cannot be found). */
export function berthVersion(): string {
  if (cached !== undefined) return cached;
  cached = '0.0.0-unknown';
  // dist/daemon → ../../package.json; a private outDir (dev loop) falls back to the working directory.
  const candidates = [path.resolve(__dirname, '..', 'package.json'), path.resolve(__dirname, '..', '..', 'package.json'), path.resolve('package.json')];
  for (const candidate of candidates) {
    try {
      const pkg = JSON.parse(fs.readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'berth' && typeof pkg.version === 'string') {
        cached = pkg.version;
        break;
      }
    } catch {
      // try the next location
    }
  }
  return cached;
}
