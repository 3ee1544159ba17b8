/** The saved inputs of a target: `test/fuzz/corpus/<name>/*` in the source tree (regressions). */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The source tree's corpus folder (this module runs from dist/test/fuzz). */
export const CORPUS_ROOT = path.resolve(__dirname, '..', '..', '..', 'test', 'fuzz', 'corpus');

/** Every saved input of `targetName`, with its file name. */
export function readCorpus(targetName: string, root = CORPUS_ROOT): Array<{ file: string; bytes: Uint8Array }> {
  const dir = path.join(root, targetName);
  let names: string[];
  try {
    names = fs.readdirSync(dir).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return names
    .filter((name) => fs.statSync(path.join(dir, name)).isFile())
    .map((name) => ({ file: path.join(dir, name), bytes: new Uint8Array(fs.readFileSync(path.join(dir, name))) }));
}

/** Saves a finding as a regression input; returns its path. */
export function saveFinding(targetName: string, input: Uint8Array, root = CORPUS_ROOT): string {
  const dir = path.join(root, targetName);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `crash-${crypto.createHash('sha256').update(input).digest('hex').slice(0, 12)}`);
  fs.writeFileSync(file, input);
  return file;
}
