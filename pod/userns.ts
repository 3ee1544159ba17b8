/** What a pod with its own user namespace needs on the host: its root's host ids own its files. */
import { promises as fs } from 'node:fs';
import { hostIdOf, IdMapping, UserNamespaceMappings } from '../common/id-mappings';
import { InvalidArgumentError, RuntimeError } from '../common/errors';
import { PodFilePaths } from './pod-files';

/** The host uid and gid of the pod's root (container id 0). */
export function podRootIds(mappings: UserNamespaceMappings): { uid: number; gid: number } {
  const uid = hostIdOf(mappings.uids, 0);
  const gid = hostIdOf(mappings.gids, 0);
  // validate-config only accepts mappings starting at container id 0.
  if (uid === undefined || gid === undefined) throw new RuntimeError('user namespace maps no root: validation let through mappings without container id 0');
  return { uid, gid };
}

/**
 * Hands the pod's hostname/hosts/resolv.conf to its root, as it would own them in a pod without a
 * user namespace (there host root owns them; here host root is nobody to the pod). lchown: the
 * files are berth's own, just written, in a dir only root can enter.
 */
export async function chownPodFiles(paths: PodFilePaths, owner: { uid: number; gid: number }): Promise<void> {
  const files = [paths.hostnamePath, paths.hostsPath, paths.resolvConfPath];
  try {
    await Promise.all(files.map((file) => fs.lchown(file, owner.uid, owner.gid)));
  } catch (err) {
    throw new RuntimeError(`hand pod files to the pod's root (${owner.uid}:${owner.gid})`, { cause: err });
  }
}

/** A pod holding (or about to hold) host ids. */
export interface IdRangeHolder {
  id: string;
  reservedName: string;
  userNamespace?: UserNamespaceMappings;
}

/**
 * Refuses `mappings` when another pod (not the same pod retried: same reserved name) already
 * holds any of its host ids: two pods sharing ids could read and signal each other's processes
 * and files. kubelet never hands out a range twice; a client that does is refused.
 */
export function checkIdRangeFree(mappings: UserNamespaceMappings, reservedName: string, holders: Iterable<IdRangeHolder>): void {
  const overlaps = (a: IdMapping[], b: IdMapping[]): boolean => a.some((x) => b.some((y) => x.hostId < y.hostId + y.length && y.hostId < x.hostId + x.length));
  for (const h of holders) {
    if (!h.userNamespace || h.reservedName === reservedName) continue;
    const field = 'config.linux.security_context.namespace_options.userns_options';
    if (overlaps(mappings.uids, h.userNamespace.uids)) throw new InvalidArgumentError(`${field}.uids: host ids ${mappings.uids[0].hostId}+${mappings.uids[0].length} are already used by pod sandbox ${h.id}`);
    if (overlaps(mappings.gids, h.userNamespace.gids)) throw new InvalidArgumentError(`${field}.gids: host ids ${mappings.gids[0].hostId}+${mappings.gids[0].length} are already used by pod sandbox ${h.id}`);
  }
}
