/**
 * Image volumes (CRI Mount.image): the layers of an image already in the store, mounted by berth
 * as a lowerdir-only overlay (read-only by construction) under the container's dir, with
 * ro,noexec,nosuid,nodev; the spec then binds that mount (or a checked subdirectory of it) into
 * the container. The image is registered as in use so RemoveImage refuses it meanwhile.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { BerthError, InvalidArgumentError, NotFoundError, RuntimeError, errnoCode } from '../common/errors';
import type { CleanupStack } from '../common/cleanup-stack';
import type { ImageLookup, ImageUseRegistry, RuntimeNative } from './interfaces';
import type { ContainerMountInput } from './spec/inputs';

/** More overlays than this per container is not a pod, it is an attack on the mount table. */
const MAX_IMAGE_VOLUMES = 64;
/** PATH_MAX: longer image refs or sub paths are refused before any lookup. */
const MAX_PATH_LENGTH = 4096;
/** Directory under the container's dir holding the volume mounts (short: overlay options are page-bounded). */
const VOLUMES_DIR = 'iv';

/** What the record keeps of one image volume, so removal (also after a restart) can unmount and unregister it. */
export interface ImageVolumeRecord {
  imageId: string;
  /** berth's overlay mount of the image (the sub path, if any, is below it). */
  mountPoint: string;
}

/** The mounts with every image volume prepared (hostPath = the source to bind), and the volumes made. */
export interface PreparedImageVolumes {
  mounts: ContainerMountInput[];
  volumes: ImageVolumeRecord[];
}

/**
 * Mounts every image volume of `mounts` under `containerDir`; each step is undone through `stack`.
 * Errors name the field (`mounts[i].image`, `mounts[i].image_sub_path`).
 */
export async function prepareImageVolumes(
  deps: { images: ImageLookup; native: RuntimeNative; imageUsers?: ImageUseRegistry },
  stack: CleanupStack,
  args: { containerId: string; containerDir: string; mounts: readonly ContainerMountInput[] },
): Promise<PreparedImageVolumes> {
  const count = args.mounts.filter((m) => m.image !== undefined).length;
  if (count === 0) return { mounts: [...args.mounts], volumes: [] };
  if (count > MAX_IMAGE_VOLUMES) throw new InvalidArgumentError(`mounts: ${count} image volumes, at most ${MAX_IMAGE_VOLUMES} are allowed`);
  // Refuse every bad sub path before the first mount.
  const subPaths = args.mounts.map((m, i) => (m.image === undefined ? [] : checkImageSubPath(m.imageSubPath ?? '', i)));
  const base = path.join(args.containerDir, VOLUMES_DIR);
  // overlay needs two lowers without an upper: an empty bottom layer makes a one-layer image mountable.
  const empty = path.join(base, 'empty');
  await fs.mkdir(empty, { recursive: true, mode: 0o700 });

  const out: ContainerMountInput[] = [];
  const volumes: ImageVolumeRecord[] = [];
  for (const [i, m] of args.mounts.entries()) {
    if (m.image === undefined) {
      out.push(m);
      continue;
    }
    const image = await resolveVolumeImage(deps.images, m.image, i);
    deps.imageUsers?.addImageUser(image.id, args.containerId);
    stack.push(`unregister image volume ${i}`, () => deps.imageUsers?.removeImageUser(image.id, args.containerId));
    // A RemoveImage that checked before we registered has marked the image: it must not be mounted now.
    if ((await deps.images.resolveImage(image.id))?.id !== image.id) throw new NotFoundError(`mounts[${i}].image: image ${image.id} was removed meanwhile`);
    const mountPoint = path.join(base, String(i));
    await fs.mkdir(mountPoint);
    try {
      await deps.native.mount('overlay', mountPoint, 'overlay', ['rdonly', 'noexec', 'nosuid', 'nodev'], `lowerdir=${[...image.lowerDirs, empty].join(':')}`);
    } catch (err) {
      throw new RuntimeError(`mount image volume mounts[${i}] (image ${image.id})`, { cause: err });
    }
    stack.push(`unmount image volume ${i}`, () => unmountImageVolume(deps.native, mountPoint));
    volumes.push({ imageId: image.id, mountPoint });
    const source = await resolveImageSubPath(mountPoint, subPaths[i], i);
    out.push({ ...m, hostPath: source, readonly: true, propagation: 'private' });
  }
  return { mounts: out, volumes };
}

async function resolveVolumeImage(images: ImageLookup, ref: string, i: number) {
  if (ref.length > MAX_PATH_LENGTH) throw new InvalidArgumentError(`mounts[${i}].image.image is longer than ${MAX_PATH_LENGTH} characters`);
  let image;
  try {
    image = await images.resolveImage(ref);
  } catch (err) {
    if (err instanceof BerthError && !(err instanceof RuntimeError)) throw new InvalidArgumentError(`mounts[${i}].image.image: ${err.message}`, { cause: err });
    throw err;
  }
  // kubelet pulls an image volume's image before it asks for the container.
  if (!image) throw new NotFoundError(`mounts[${i}].image: image ${JSON.stringify(ref.slice(0, 256))} not found (pull it first)`);
  if (image.lowerDirs.length === 0) throw new NotFoundError(`mounts[${i}].image: image ${image.id} has no unpacked layers`);
  return image;
}

/**
 * The components of an image sub path, checked lexically: relative, no `..` at all (as the
 * Kubernetes API validates subPath: `a/../b` is refused rather than cleaned, so no reading of
 * `..` through a symlink can differ from ours), no NUL, bounded. '' means the image root.
 */
export function checkImageSubPath(subPath: string, i: number): string[] {
  const field = `mounts[${i}].image_sub_path`;
  if (subPath.length > MAX_PATH_LENGTH) throw new InvalidArgumentError(`${field} is longer than ${MAX_PATH_LENGTH} characters`);
  if (subPath.includes('\0')) throw new InvalidArgumentError(`${field} contains a NUL byte`);
  if (subPath.startsWith('/')) throw new InvalidArgumentError(`${field} ${JSON.stringify(subPath)} is absolute; it must be relative to the image root`);
  const parts = subPath.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new InvalidArgumentError(`${field} ${JSON.stringify(subPath)} has ".." components`);
  return parts;
}

/**
 * `root` joined with `parts`, walked one component at a time with lstat. A symbolic link anywhere
 * is refused, not resolved within the root: the image is read-only (no race between this check and
 * runc's bind), and a refused link cannot lead outside, whatever it points at. The target must be a
 * directory or a regular file; a missing component is NotFound.
 */
export async function resolveImageSubPath(root: string, parts: readonly string[], i: number): Promise<string> {
  const field = `mounts[${i}].image_sub_path`;
  let current = root;
  for (const [n, part] of parts.entries()) {
    current = path.join(current, part);
    const shown = JSON.stringify(parts.slice(0, n + 1).join('/'));
    let st;
    try {
      st = await fs.lstat(current);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') throw new NotFoundError(`${field}: ${shown} does not exist in the image`, { cause: err });
      throw new RuntimeError(`resolve ${field} ${shown}`, { cause: err });
    }
    if (st.isSymbolicLink()) throw new InvalidArgumentError(`${field}: ${shown} is a symbolic link; image sub paths may not contain links`);
    const last = n === parts.length - 1;
    if (!last && !st.isDirectory()) throw new NotFoundError(`${field}: ${shown} is not a directory`);
    if (last && !st.isDirectory() && !st.isFile()) throw new InvalidArgumentError(`${field}: ${shown} is neither a directory nor a regular file`);
  }
  return current;
}

/** Unmounts one image volume; one that is not mounted (any more) is fine. */
export async function unmountImageVolume(native: RuntimeNative, mountPoint: string, flags: readonly ('detach')[] = []): Promise<void> {
  try {
    await native.unmount(mountPoint, flags);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'EINVAL' || code === 'ENOENT') return;
    throw new RuntimeError(`unmount image volume ${mountPoint}`, { cause: err });
  }
}

/** The mount points of a container dir's image volumes, from disk (for orphan dirs, which have no record). */
export async function imageVolumeMountPoints(containerDir: string): Promise<string[]> {
  const base = path.join(containerDir, VOLUMES_DIR);
  const names = await fs.readdir(base).catch(() => [] as string[]);
  return names.filter((n) => /^\d+$/.test(n)).map((n) => path.join(base, n));
}

/** Unmounts a removed container's image volumes and tells the image store it no longer uses their images. */
export async function releaseImageVolumes(native: RuntimeNative, imageUsers: ImageUseRegistry | undefined, rec: { id: string; imageVolumes?: readonly ImageVolumeRecord[] }): Promise<void> {
  for (const v of rec.imageVolumes ?? []) await unmountImageVolume(native, v.mountPoint);
  for (const v of rec.imageVolumes ?? []) imageUsers?.removeImageUser(v.imageId, rec.id);
}

/** Re-registers the images that recovered containers' image volumes use (at berthd start). */
export function registerRecoveredImageVolumes(imageUsers: ImageUseRegistry | undefined, records: readonly { id: string; imageVolumes?: readonly ImageVolumeRecord[] }[]): void {
  for (const rec of records) for (const v of rec.imageVolumes ?? []) imageUsers?.addImageUser(v.imageId, rec.id);
}
