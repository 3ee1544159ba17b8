/**
 * The pod's /dev/shm: a tmpfs at `<run-root>/pods/<id>/shm` that every container of the pod
 * bind-mounts (so they share POSIX shared memory, as in Docker/cri-o). Not used with ipc NODE.
 */
import { promises as fs } from 'node:fs';
import { errnoCode, RuntimeError } from '../common/errors';
import { PodNativeOps } from './dependencies';

/** Kubernetes' and Docker's default /dev/shm size. */
export const DEFAULT_SHM_SIZE_BYTES = 64 * 1024 * 1024;

/**
 * Mounts the shm tmpfs at `dir` (created here). The tmpfs root is 1777 as /dev/shm is inside the
 * pod; host users must not reach it, which the 0700 run root and `<run_root>/pods` ensure (a
 * world-writable tmpfs reachable from the host would let them plant files in the pod's shm).
 */
export async function mountShm(native: PodNativeOps, dir: string, sizeBytes: number, owner?: { uid: number; gid: number }): Promise<void> {
  await fs.mkdir(dir, { mode: 0o700 });
  // In a user namespace the tmpfs root belongs to the pod's root (host ids), so it is root's there.
  const ownerOptions = owner ? `,uid=${owner.uid},gid=${owner.gid}` : '';
  try {
    await native.mount('shm', dir, 'tmpfs', ['nosuid', 'nodev', 'noexec'], `mode=1777,size=${sizeBytes}${ownerOptions}`);
  } catch (err) {
    await fs.rmdir(dir).catch(() => undefined);
    throw new RuntimeError(`mount pod shm at ${dir}`, { cause: err });
  }
}

/** Unmounts the shm tmpfs; fine when it is not mounted or gone. */
export async function unmountShm(native: PodNativeOps, dir: string): Promise<void> {
  try {
    await native.unmount(dir, ['detach']);
  } catch (err) {
    const code = errnoCode(err);
    if (code !== 'EINVAL' && code !== 'ENOENT') throw new RuntimeError(`unmount pod shm at ${dir}`, { cause: err });
  }
}
