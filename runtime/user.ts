/**
 * Resolves the user a container runs as from the container's own /etc/passwd and /etc/group.
 * The rootfs is untrusted: paths are walked component by component with lstat, and symlinks are
 * resolved as if the rootfs were "/" (absolute targets restart at the root, `..` stops there), so
 * a /etc/passwd symlinked to the host's file reads the rootfs's path of that name instead.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError, NotFoundError, errnoCode } from '../common/errors';
import type { ResolvedUser } from './spec/inputs';

const MAX_SYMLINKS = 40;

/** The host path of `inside` (an absolute path in the container) within `root`, symlinks resolved inside the root. */
export async function resolveInRoot(root: string, inside: string): Promise<string> {
  let pending = inside.split('/').filter((c) => c !== '' && c !== '.');
  const resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const component = pending.shift()!;
    if (component === '..') {
      resolved.pop(); // never above the root
      continue;
    }
    const candidate = path.join(root, ...resolved, component);
    let st;
    try {
      st = await fs.lstat(candidate);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') {
        // The rest does not exist: the result is a path under the root that open() will not find.
        return path.join(root, ...resolved, component, ...pending);
      }
      throw err;
    }
    if (!st.isSymbolicLink()) {
      resolved.push(component);
      continue;
    }
    if (++links > MAX_SYMLINKS) throw new InvalidArgumentError(`resolve ${inside} in the rootfs: too many symlinks`);
    const target = await fs.readlink(candidate);
    const targetParts = target.split('/').filter((c) => c !== '' && c !== '.');
    if (target.startsWith('/')) resolved.length = 0;
    pending = [...targetParts, ...pending];
  }
  return path.join(root, ...resolved);
}

/** Reads a file of the rootfs safely; undefined when it does not exist or is not a regular file. */
export async function readFileInRoot(root: string, inside: string): Promise<string | undefined> {
  const hostPath = await resolveInRoot(root, inside);
  try {
    const st = await fs.lstat(hostPath);
    if (!st.isFile()) return undefined;
    return await fs.readFile(hostPath, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return undefined;
    throw err;
  }
}

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

/** Parses /etc/passwd text; malformed lines are skipped. */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 7) continue;
    const uid = parseId(f[2]);
    const gid = parseId(f[3]);
    if (uid === undefined || gid === undefined) continue;
    out.push({ name: f[0], uid, gid, home: f[5] });
  }
  return out;
}

/** Parses /etc/group text; malformed lines are skipped. */
export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 4) continue;
    const gid = parseId(f[2]);
    if (gid === undefined) continue;
    out.push({ name: f[0], gid, members: f[3].split(',').map((m) => m.trim()).filter(Boolean) });
  }
  return out;
}

function parseId(s: string): number | undefined {
  if (!/^[0-9]+$/.test(s)) return undefined;
  const n = Number(s);
  return n <= 0xffffffff ? n : undefined;
}

/** What the CRI config and the image say about the user. */
export interface UserRequest {
  runAsUser?: number;
  runAsUsername?: string;
  runAsGroup?: number;
  supplementalGroups?: number[];
  supplementalGroupsPolicy?: 'Merge' | 'Strict';
  /** The image config's User: "", "name", "uid", "uid:gid", "name:group", … */
  imageUser?: string;
}

/** Resolves the user against parsed passwd/group data (pure). */
export function resolveUserFrom(req: UserRequest, passwd: PasswdEntry[], groups: GroupEntry[]): ResolvedUser {
  let userPart: string;
  let groupPart: string | undefined;
  if (req.runAsUser !== undefined) {
    userPart = String(req.runAsUser);
  } else if (req.runAsUsername) {
    userPart = req.runAsUsername;
  } else {
    const spec = (req.imageUser ?? '').trim();
    const colon = spec.indexOf(':');
    userPart = colon >= 0 ? spec.slice(0, colon) : spec;
    groupPart = colon >= 0 ? spec.slice(colon + 1) : undefined;
    if (userPart === '') userPart = '0';
  }

  let entry: PasswdEntry | undefined;
  let uid: number;
  const numericUid = parseId(userPart);
  if (numericUid !== undefined) {
    uid = numericUid;
    entry = passwd.find((p) => p.uid === uid);
  } else {
    entry = passwd.find((p) => p.name === userPart);
    if (!entry) throw new NotFoundError(`user ${JSON.stringify(userPart)} not found in the image's /etc/passwd`);
    uid = entry.uid;
  }
  // An unknown numeric uid runs with gid 0, as Docker and containerd do.
  let gid = entry?.gid ?? 0;
  if (groupPart !== undefined && groupPart !== '') {
    const numericGid = parseId(groupPart);
    if (numericGid !== undefined) gid = numericGid;
    else {
      const g = groups.find((x) => x.name === groupPart);
      if (!g) throw new NotFoundError(`group ${JSON.stringify(groupPart)} not found in the image's /etc/group`);
      gid = g.gid;
    }
  }
  if (req.runAsGroup !== undefined) gid = req.runAsGroup;

  const additional: number[] = [];
  if ((req.supplementalGroupsPolicy ?? 'Merge') === 'Merge' && entry) {
    for (const g of groups) if (g.members.includes(entry.name)) additional.push(g.gid);
  }
  additional.push(...(req.supplementalGroups ?? []));
  return { uid, gid, additionalGids: [...new Set(additional)], home: entry?.home };
}

/** The parsed /etc/passwd and /etc/group of a rootfs. */
export interface Accounts {
  passwd: PasswdEntry[];
  groups: GroupEntry[];
}

/** Reads and parses the rootfs's /etc/passwd and /etc/group safely (missing files are empty). */
export async function readAccounts(root: string): Promise<Accounts> {
  const [passwdText, groupText] = await Promise.all([readFileInRoot(root, '/etc/passwd'), readFileInRoot(root, '/etc/group')]);
  return { passwd: parsePasswd(passwdText ?? ''), groups: parseGroup(groupText ?? '') };
}

/** Resolves the user against the rootfs at `root` (reading its /etc/passwd and /etc/group safely). */
export async function resolveUser(root: string, req: UserRequest): Promise<ResolvedUser> {
  const { passwd, groups } = await readAccounts(root);
  return resolveUserFrom(req, passwd, groups);
}
