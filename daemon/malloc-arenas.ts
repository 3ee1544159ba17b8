/**
 * Caps glibc's malloc arenas before the rest of berthd loads. By default every thread that
 * allocates gets an arena of its own (up to 8 per core), and the libuv pool and V8's helper
 * threads each keep one with free chunks in it. With 2 arenas berthd's anonymous memory 30 s
 * after a 30-pod burst was 20.7 and 20.4 MiB instead of 24.6 and 23.9; the burst's time stayed
 * within its run-to-run spread. Arenas are handed out at a thread's first allocation, and those
 * threads allocate while the modules load: the same cap set from the serve command changed
 * nothing (23.8, 23.4 MiB), so daemon/main.ts imports this module first, and it reaches mallopt
 * through the raw addon loader, the smallest module that can. An admin's MALLOC_ARENA_MAX or
 * glibc tunable wins; a missing or broken addon is left for the serve command to report.
 */
import { loadRawAddon, type RawAddon } from '../native/addon-loader';

export const MALLOC_ARENAS = 2;

/** Sets the cap unless the environment already does; true when it did. */
export function limitMallocArenas(env: NodeJS.ProcessEnv = process.env, load: () => Pick<RawAddon, 'limitMallocArenas'> = loadRawAddon): boolean {
  if (env.MALLOC_ARENA_MAX !== undefined || env.GLIBC_TUNABLES?.includes('glibc.malloc.arena_max')) return false;
  try {
    load().limitMallocArenas(MALLOC_ARENAS);
    return true;
  } catch {
    return false;
  }
}

limitMallocArenas();
