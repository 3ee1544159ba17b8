/**
 * Private state directories: created 0700, and existing ones (made by an older berth or by hand
 * with a wider mode) tightened at start, so other host users can neither list nor traverse them.
 */
import { promises as fs } from 'node:fs';

/** One permission change made on an existing directory. */
export interface ModeChange {
  readonly path: string;
  /** Octal mode before and after, e.g. '711' → '700'. */
  readonly from: string;
  readonly to: string;
}

/**
 * Creates `dir` (and missing parents) with `mode`, or removes the group/other bits `mode` lacks
 * from an existing one. A symlink is followed (an admin may point the state root elsewhere); a
 * non-directory is left alone. Returns the change made to an existing directory, if any.
 */
export async function ensurePrivateDir(dir: string, mode = 0o700): Promise<ModeChange | undefined> {
  let st;
  try {
    st = await fs.stat(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    await fs.mkdir(dir, { recursive: true, mode });
    // mkdir applies the umask, and a parent created on the way gets `mode` too; set it exactly.
    await fs.chmod(dir, mode);
    return undefined;
  }
  if (!st.isDirectory()) return undefined;
  const current = st.mode & 0o7777;
  const wanted = current & ~(0o077 & ~mode);
  if (wanted === current) return undefined;
  await fs.chmod(dir, wanted);
  return { path: dir, from: current.toString(8), to: wanted.toString(8) };
}

/** ensurePrivateDir over several directories, in order; returns every change made. */
export async function ensurePrivateDirs(dirs: readonly string[], mode = 0o700): Promise<ModeChange[]> {
  const changes: ModeChange[] = [];
  for (const d of dirs) {
    const c = await ensurePrivateDir(d, mode);
    if (c) changes.push(c);
  }
  return changes;
}
