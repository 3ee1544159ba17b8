/** Tells whether a netns path still refers to a network namespace (an nsfs bind mount or /proc link). */
import { promises as fs } from 'node:fs';

/** statfs f_type of nsfs (linux/magic.h NSFS_MAGIC). */
const NSFS_MAGIC = 0x6e736673;

/** 'namespace' when `path` is an nsfs file, 'missing' when absent, 'other' for any other file. */
export async function probeNetns(path: string): Promise<'namespace' | 'missing' | 'other'> {
  if (!path) return 'missing';
  try {
    const st = await fs.statfs(path);
    return st.type === NSFS_MAGIC ? 'namespace' : 'other';
  } catch {
    return 'missing';
  }
}
