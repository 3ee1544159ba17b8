/**
 * Namespace pinning: a bind mount of /proc/<pause>/ns/<kind> onto an empty file
 * `<run-root>/ns/<kind>/<pod id>` keeps the namespace alive after pause dies, so CNI DEL and
 * containers joining the pod keep working until RemovePodSandbox unpins it.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { errnoCode, RuntimeError } from '../common/errors';
import type { NamespaceKind } from '../native/binding';
import { PodNativeOps } from './dependencies';
import { NamespacePaths } from './types';

/** The pin file of a pod's namespace. */
export function pinPath(runRoot: string, kind: NamespaceKind, podId: string): string {
  return path.join(runRoot, 'ns', kind, podId);
}

/** Pins each of pause's namespaces; `onPinned` registers the undo of each as soon as it exists. */
export async function pinNamespaces(
  native: PodNativeOps,
  runRoot: string,
  podId: string,
  pid: number,
  kinds: readonly NamespaceKind[],
  onPinned: (kind: NamespaceKind, file: string) => void,
): Promise<NamespacePaths> {
  const paths: NamespacePaths = {};
  await Promise.all(
    kinds.map(async (kind) => {
      const file = pinPath(runRoot, kind, podId);
      await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o711 });
      await fs.writeFile(file, '', { mode: 0o444, flag: 'w' });
      try {
        await native.mount(`/proc/${pid}/ns/${kind}`, file, 'none', ['bind']);
      } catch (err) {
        await fs.rm(file, { force: true });
        throw new RuntimeError(`pin ${kind} namespace of pod ${podId}`, { cause: err });
      }
      onPinned(kind, file);
      paths[kind] = file;
    }),
  );
  return paths;
}

/**
 * A new network namespace with `lo` up, pinned at the pod's net pin before pause exists, so CNI
 * ADD can run while pause starts; `onPinned` registers its undo once the pin exists.
 */
export async function createPinnedNetns(
  native: PodNativeOps,
  runRoot: string,
  podId: string,
  onPinned: (file: string) => void,
): Promise<string> {
  const file = pinPath(runRoot, 'net', podId);
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o711 });
  await fs.writeFile(file, '', { mode: 0o444, flag: 'w' });
  try {
    await native.createNetns(file);
  } catch (err) {
    await fs.rm(file, { force: true });
    throw new RuntimeError(`create network namespace of pod ${podId}`, { cause: err });
  }
  onPinned(file);
  return file;
}

/** Unmounts and deletes one pin file; fine when it is already gone. */
export async function unpinNamespace(native: PodNativeOps, file: string): Promise<void> {
  try {
    // detach: a process still inside (an exec'ing CNI plugin) must not make this fail.
    await native.unmount(file, ['detach']);
  } catch (err) {
    const code = errnoCode(err);
    if (code !== 'EINVAL' && code !== 'ENOENT') throw new RuntimeError(`unpin namespace ${file}`, { cause: err });
  }
  await fs.rm(file, { force: true });
}

/** Unpins every namespace in `paths`. */
export async function unpinNamespaces(native: PodNativeOps, paths: NamespacePaths): Promise<void> {
  const files = Object.values(paths).filter((p): p is string => typeof p === 'string');
  const results = await Promise.allSettled(files.map((f) => unpinNamespace(native, f)));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
