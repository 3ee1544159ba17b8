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
import { hostIdOf } from '../common/id-mappings';
import type { NativeBinding } from '../native/binding';
import type { ContainerMountInput } from './spec/inputs';
import type { SandboxView } from './interfaces';

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

/** The native calls these mounts need. */
export type IdmapNative = Pick<NativeBinding, 'mount' | 'unmount' | 'idmapMount'>;

/** The dir holding a container's idmapped layer mounts. */
export function idmappedLayersDir(containerDir: string): string {
  return path.join(containerDir, 'idmap');
}

/** Mounts the idmapped layers and the overlay on `plan.rootfs`; every undo goes on `stack`. */
export async function mountIdmappedRootfs(native: IdmapNative, plan: IdmappedRootfsPlan, stack: CleanupStack): Promise<void> {
  const layersDir = idmappedLayersDir(plan.containerDir);
  const targets = plan.lowerDirs.map((_, i) => path.join(layersDir, String(i)));
  const options = `lowerdir=${targets.join(':')},upperdir=${plan.upper},workdir=${plan.work}`;
  if (options.length > MAX_OVERLAY_OPTIONS) {
    throw new FailedPreconditionError(`image has ${plan.lowerDirs.length} layers: too many for an idmapped rootfs (overlay options of ${options.length} bytes, at most ${MAX_OVERLAY_OPTIONS})`);
  }
  await fs.mkdir(layersDir, { recursive: true, mode: 0o700 });
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
  await openPathForPodRoot(plan.containerDir, plan.root.gid);
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
    // Layers and directory sources are dirs, file sources (a Secret key, /etc/hosts) files.
    await fs.rmdir(target).catch(() => fs.rm(target, { force: true })).catch(() => undefined);
  }
  await fs.rmdir(layersDir).catch(() => undefined);
}

/** The pinned user namespace and host ids of the root of a pod that has a user namespace. */
export function podUserNamespace(sandbox: SandboxView): { usernsPath: string; root: { uid: number; gid: number } } {
  const ns = sandbox.userNamespace;
  const usernsPath = sandbox.namespacePaths.user;
  const uid = ns ? hostIdOf(ns.uids, 0) : undefined;
  const gid = ns ? hostIdOf(ns.gids, 0) : undefined;
  if (!usernsPath || uid === undefined || gid === undefined) throw new FailedPreconditionError(`pod sandbox ${sandbox.id} has no pinned user namespace with a root`);
  return { usernsPath, root: { uid, gid } };
}

/**
 * Replaces the source of every mount asking to be idmapped by an idmapped mount of it (under
 * `<container dir>/idmap/m<n>`, through the pod's user namespace), so runc binds that instead.
 * Other mounts stay plain binds: their files show their host owners (nobody, unless in the pod's range).
 */
export async function idmapMountSources(
  native: IdmapNative,
  mounts: ContainerMountInput[],
  containerDir: string,
  sandbox: SandboxView,
  stack: CleanupStack,
): Promise<ContainerMountInput[]> {
  if (!mounts.some((m) => m.idmapped && m.image === undefined)) return mounts;
  const { usernsPath } = podUserNamespace(sandbox);
  const layersDir = idmappedLayersDir(containerDir);
  await fs.mkdir(layersDir, { recursive: true, mode: 0o700 });
  stack.push('unmount idmapped mount sources', () => unmountIdmappedLayers(native, containerDir));
  const out: ContainerMountInput[] = [];
  for (const [i, m] of mounts.entries()) {
    // An image volume is berth's own overlay mount, which the kernel cannot idmap: its files show
    // as the overflow id inside (read-only either way).
    if (!m.idmapped || m.image !== undefined) {
      out.push(m);
      continue;
    }
    const target = path.join(layersDir, `m${i}`);
    const isDir = (await fs.stat(m.hostPath)).isDirectory();
    if (isDir) await fs.mkdir(target);
    else await fs.writeFile(target, '', { flag: 'wx', mode: 0o600 });
    try {
      await native.idmapMount(m.hostPath, target, usernsPath, m.readonly);
    } catch (err) {
      throw new RuntimeError(`make idmapped mount of mounts[${i}] (${m.hostPath})`, { cause: err });
    }
    out.push({ ...m, hostPath: target });
  }
  return out;
}

/**
 * runc sets the rootfs up from inside the pod's user namespace, as its root: a host id without
 * any capability on the host, which must still reach `<containers dir>/<id>/bundle/rootfs`. The
 * container dir becomes root:<pod root gid> 0710 (only this pod's root group may pass), and the
 * containers dir and berth's root get search permission for others (0711: passing, never listing;
 * every other dir below them stays 0700).
 */
async function openPathForPodRoot(containerDir: string, podRootGid: number): Promise<void> {
  await fs.chown(containerDir, 0, podRootGid);
  await fs.chmod(containerDir, 0o710);
  for (const dir of [path.dirname(containerDir), path.dirname(path.dirname(containerDir))]) {
    const { mode } = await fs.stat(dir);
    if ((mode & 0o001) === 0) await fs.chmod(dir, (mode & 0o7777) | 0o001);
  }
}
