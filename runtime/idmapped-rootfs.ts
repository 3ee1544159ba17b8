/**
 * The rootfs of a container in a user namespace: overlayfs cannot be idmapped itself, and an
 * idmapped upper/work dir makes it read-only, so each image layer gets its own read-only
 * idmapped mount (through the pod's pinned user namespace) under `<container dir>/idmap/<n>`,
 * the overlay stacks those, and upper/work are plain dirs owned by the pod's root (host ids). No
 * layer is chowned or copied: a file root owns in the image is root's inside, and what the
 * container writes lands in upper with the pod's host ids.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { CleanupStack } from '../common/cleanup-stack';
import { errnoCode, FailedPreconditionError, RuntimeError } from '../common/errors';
import type { NativeBinding } from '../native/binding';

/** overlayfs reads its options from one page. */
const MAX_OVERLAY_OPTIONS = 4095;

/** What an idmapped rootfs is made of. */
export interface IdmappedRootfsPlan {
  /** The image's layers, topmost first (overlay lowerdir order). */
  lowerDirs: readonly string[];
  /** The container's private dir: the idmapped layers go under `idmap/` there. */
  containerDir: string;
  rootfs: string;
  upper: string;
  work: string;
  /** The pod's pinned user namespace file. */
  usernsPath: string;
  /** Host ids of the pod's root. */
  root: { uid: number; gid: number };
}

/** The dir holding a container's idmapped layer mounts. */
export function idmappedLayersDir(containerDir: string): string {
  return path.join(containerDir, 'idmap');
}

/** Mounts the idmapped layers and the overlay on `plan.rootfs`; every undo goes on `stack`. */
export async function mountIdmappedRootfs(native: Pick<NativeBinding, 'idmapMount' | 'mount' | 'unmount'>, plan: IdmappedRootfsPlan, stack: CleanupStack): Promise<void> {
  const layersDir = idmappedLayersDir(plan.containerDir);
  const targets = plan.lowerDirs.map((_, i) => path.join(layersDir, String(i)));
  const options = `lowerdir=${targets.join(':')},upperdir=${plan.upper},workdir=${plan.work}`;
  if (options.length > MAX_OVERLAY_OPTIONS) {
    throw new FailedPreconditionError(`image has ${plan.lowerDirs.length} layers: too many for an idmapped rootfs (overlay options of ${options.length} bytes, at most ${MAX_OVERLAY_OPTIONS})`);
  }
  await fs.mkdir(layersDir, { mode: 0o700 });
  stack.push('unmount idmapped layers', () => unmountIdmappedLayers(native, plan.containerDir));
  await Promise.all(targets.map((t) => fs.mkdir(t)));
  // One at a time: a failure leaves a prefix mounted, which the undo above takes down.
  for (const [i, lower] of plan.lowerDirs.entries()) {
    try {
      await native.idmapMount(lower, targets[i], plan.usernsPath, true);
    } catch (err) {
      throw new RuntimeError(`make idmapped mount of layer ${i} (${lower})`, { cause: err });
    }
  }
  await Promise.all([fs.chown(plan.upper, plan.root.uid, plan.root.gid), fs.chown(plan.work, plan.root.uid, plan.root.gid)]);
  await native.mount('overlay', plan.rootfs, 'overlay', [], options);
  stack.push('unmount idmapped rootfs', () => native.unmount(plan.rootfs, ['detach']));
}

/** Unmounts and removes every idmapped layer of a container (removal, failed create, recovery); fine when there are none. */
export async function unmountIdmappedLayers(native: Pick<NativeBinding, 'unmount'>, containerDir: string): Promise<void> {
  const layersDir = idmappedLayersDir(containerDir);
  const entries = await fs.readdir(layersDir).catch((err: unknown) => {
    if (errnoCode(err) === 'ENOENT') return [] as string[];
    throw err;
  });
  for (const entry of entries) {
    const target = path.join(layersDir, entry);
    try {
      await native.unmount(target, ['detach']);
    } catch (err) {
      const code = errnoCode(err);
      if (code !== 'EINVAL' && code !== 'ENOENT') throw new RuntimeError(`unmount idmapped layer ${target}`, { cause: err });
    }
    await fs.rmdir(target).catch(() => undefined);
  }
  await fs.rmdir(layersDir).catch(() => undefined);
}
