/**
 * Whether pods may get user namespaces here: the kernel must make idmapped mounts of the
 * filesystem berth's root (and so its image layers) lives on. Probed once at start with a
 * throwaway user namespace: a file owned by root must show up as the mapped id.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { describeError } from '../common/errors';
import type { IdmapNative } from './idmapped-rootfs';

/** What the probe found (shown in verbose Status). */
export interface UserNamespaceSupport {
  idmappedMounts: boolean;
  /** Why not, when not. */
  reason?: string;
}

/** An id no pod is given (kubelet allocates from 65536 up; this is the last aligned range but one). */
const PROBE_HOST_ID = 0xfffd0000;

/** Tries an idmapped mount of a dir under `dir`; never throws. */
export async function probeIdmappedMounts(native: IdmapNative, dir: string): Promise<UserNamespaceSupport> {
  const base = await fs.mkdtemp(path.join(dir, '.userns-probe-'));
  const [src, dst] = [path.join(base, 'src'), path.join(base, 'dst')];
  let mounted = false;
  try {
    await Promise.all([fs.mkdir(src), fs.mkdir(dst)]);
    await fs.writeFile(path.join(src, 'owned-by-root'), '');
    const maps = [{ containerId: 0, hostId: PROBE_HOST_ID, length: 65536 }];
    await native.idmapMount(src, dst, { uids: maps, gids: maps }, true);
    mounted = true;
    const { uid } = await fs.stat(path.join(dst, 'owned-by-root'));
    if (uid !== PROBE_HOST_ID) return { idmappedMounts: false, reason: `an idmapped mount showed uid ${uid} instead of ${PROBE_HOST_ID}` };
    return { idmappedMounts: true };
  } catch (err) {
    return { idmappedMounts: false, reason: `idmapped mount under ${dir}: ${describeError(err)}` };
  } finally {
    if (mounted) await native.unmount(dst, ['detach']).catch(() => undefined);
    // Only once nothing is mounted there: rm must not run through a mount.
    if (!mounted || !(await isMountPoint(dst))) await fs.rm(base, { recursive: true, force: true }).catch(() => undefined);
  }
}

async function isMountPoint(dir: string): Promise<boolean> {
  const info = await fs.readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  return info.split('\n').some((line) => line.split(' ')[4] === dir);
}
