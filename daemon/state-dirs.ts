/**
 * berthd's state roots are private to root: `<root>` (images, pod and container state, CNI data)
 * and `<run_root>` (namespace pins, pod /dev/shm mount points, exit files, conmon sockets, runc
 * state) are 0700. Nothing below them needs a path walk by another user: runc and conmon run as
 * root, overlayfs and bind mounts are set up by root, streaming is TCP and the CRI socket is for
 * root. Directories left wider by an older berth are tightened at start, logged once.
 */
import * as path from 'node:path';
import type { Logger } from '../common/logger';
import { ensurePrivateDirs } from '../common/private-dirs';
import type { BerthConfig } from './config-schema';
import { derivedPaths } from './derived-paths';

/** Creates or tightens the state roots of `config` (0700) and logs what it changed. */
export async function secureStateDirs(config: Pick<BerthConfig, 'root' | 'runRoot' | 'cniCacheDir' | 'runtimes'>, logger: Logger): Promise<void> {
  const paths = derivedPaths(config);
  const dirs = [config.root, config.runRoot, path.join(config.runRoot, 'pods'), ...Object.values(paths.runtimeRoots)];
  const changes = await ensurePrivateDirs(dirs.filter((d) => path.resolve(d) !== '/'));
  if (changes.length > 0) logger.warn('tightened state directory permissions (other host users could reach them)', { changes });
}
