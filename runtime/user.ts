/**
 * Resolves the user a container runs as from the container's own /etc/passwd and /etc/group.
 * The rootfs is untrusted: paths are walked component by component with lstat, and symlinks are
 * resolved as if the rootfs were "/" (absolute targets restart at the root, `..` stops there), so
 * a /etc/passwd symlinked to the host's file reads the rootfs's path of that name instead. The
 * file is then opened with O_NOFOLLOW, must be a regular file still inside the root (checked on
 * the open fd), and is read only up to MAX_ACCOUNTS_FILE_BYTES.
 */
import { constants as fsc, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError, errnoCode } from '../common/errors';
import type { ResolvedUser } from './spec/inputs';

const MAX_SYMLINKS = 40;
/** Largest /etc/passwd or /etc/group read from a rootfs. */
export const MAX_ACCOUNTS_FILE_BYTES = 4 * 1024 * 1024;
/** Longer passwd/group lines are skipped as malformed. */
const MAX_ACCOUNTS_LINE_CHARS = 64 * 1024;

/**
 * The host path of `inside` (an absolute path in the container) within `root`, symlinks resolved
 * inside the root; undefined when a component does not exist or is not a directory.
 */
export async function resolveInRoot(root: string, inside: string): Promise<string | undefined> {
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
      // Not found. The rest is never joined on: it may hold `..` components of a symlink target
      // (`missing/../../..`), which path.join would resolve above the root.
      if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return undefined;
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
  if (hostPath === undefined) return undefined;
  const text = await readRegularFileNoFollow(root, hostPath, inside);
  return text?.toString('utf8');
}

/**
 * Reads `hostPath`, a file below `root`, without following a symlink at its last component
 * (O_NOFOLLOW; O_NONBLOCK so a fifo cannot block), and only if the open fd is a regular file of at
 * most MAX_ACCOUNTS_FILE_BYTES whose real path is inside `root`. Undefined when it is missing or
 * not a regular file; a too big file is refused with FailedPreconditionError naming `inside`.
 */
export async function readRegularFileNoFollow(root: string, hostPath: string, inside: string): Promise<Buffer | undefined> {
  let handle;
  try {
    handle = await fs.open(hostPath, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') return undefined;
    throw err;
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) return undefined;
    // A directory swapped for a symlink between the walk and the open would land outside.
    const [realRoot, opened] = await Promise.all([fs.realpath(root), fs.readlink(`/proc/self/fd/${handle.fd}`)]);
    if (!opened.startsWith(realRoot + path.sep)) return undefined;
    const tooBig = (): Error => new FailedPreconditionError(`read ${inside} of the image: over the limit of ${MAX_ACCOUNTS_FILE_BYTES} bytes (${st.size} bytes)`);
    if (st.size > MAX_ACCOUNTS_FILE_BYTES) throw tooBig();
    // Sized by fstat, but read to the end: the file may have grown since.
    const chunks: Buffer[] = [];
    let got = 0;
    for (;;) {
      const chunk = Buffer.alloc(Math.min(Math.max(st.size - got, 0) + 1, MAX_ACCOUNTS_FILE_BYTES + 1 - got, 64 * 1024));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      got += bytesRead;
      if (got > MAX_ACCOUNTS_FILE_BYTES) throw tooBig();
      chunks.push(chunk.subarray(0, bytesRead));
    }
    return Buffer.concat(chunks);
  } finally {
    await handle.close();
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

/** Parses /etc/passwd text; malformed lines (and lines over MAX_ACCOUNTS_LINE_CHARS) are skipped. */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.length > MAX_ACCOUNTS_LINE_CHARS || line.trim() === '' || line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 7) continue;
    const uid = parseId(f[2]);
    const gid = parseId(f[3]);
    if (uid === undefined || gid === undefined) continue;
    out.push({ name: f[0], uid, gid, home: f[5] });
  }
  return out;
}

/** Parses /etc/group text; malformed lines (and lines over MAX_ACCOUNTS_LINE_CHARS) are skipped. */
export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.length > MAX_ACCOUNTS_LINE_CHARS || line.trim() === '' || line.startsWith('#')) continue;
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
