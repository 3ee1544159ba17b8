/** Crash-safe file writes: tmp + fsync + rename + fsync of the directory (docs/contributing.md, "State and recovery"). */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

let tmpCounter = 0;

/** How a write is made durable. */
export interface AtomicWriteOptions {
  /**
   * fsync the directory after the rename, so the new name itself survives a power loss once the
   * call returned (default true). Without it the content is still complete whenever the name
   * exists (it is synced before the rename); only the name may be lost to a power loss before the
   * filesystem's next commit. For a first file in a new directory whose absence after a power
   * loss is as good as its content; it saves a second journal commit.
   */
  syncDir?: boolean;
}

/** Writes `data` to `file` so that a crash leaves either the old or the new content. */
export async function writeFileAtomic(file: string, data: string | Uint8Array, mode = 0o644, opts: AtomicWriteOptions = {}): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.tmp-${process.pid}-${++tmpCounter}`);
  const handle = await fs.open(tmp, 'w', mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
  if (opts.syncDir ?? true) await syncDir(dir);
}

/** Writes `value` as JSON atomically. */
export async function writeJsonAtomic(file: string, value: unknown, mode = 0o644, opts: AtomicWriteOptions = {}): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(value), mode, opts);
}

/** Reads and parses a JSON file; undefined when it does not exist. */
export async function readJsonIfExists<T>(file: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return JSON.parse(text) as T;
}

/** fsyncs a directory so a rename or unlink in it is durable. */
async function syncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
