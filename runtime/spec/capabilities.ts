/** Capability sets from the default set, the config's add/drop (incl. ALL) and privileged. Pure. */
import { InvalidArgumentError } from '../../common/errors';
import type { OciCapabilities } from './oci-types';

/** cri-o's default capability set. */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_KILL',
];

/** Every capability of Linux ≤ 6.x, in number order (CAP_CHOWN = 0 … CAP_CHECKPOINT_RESTORE = 40). */
export const ALL_LINUX_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER',
  'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

const KNOWN = new Set(ALL_LINUX_CAPABILITIES);

/** "net_admin", "NET_ADMIN" and "CAP_NET_ADMIN" all become "CAP_NET_ADMIN"; "ALL" stays "ALL". */
function normalizeCapability(name: string): string {
  const upper = name.trim().toUpperCase();
  if (upper === 'ALL' || upper === 'CAP_ALL') return 'ALL';
  const full = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  if (!KNOWN.has(full)) throw new InvalidArgumentError(`unknown capability ${JSON.stringify(name)}`);
  return full;
}

/**
 * The capability list: start from `defaults` (or everything when privileged); `ALL` in add grants
 * all, `ALL` in drop clears the base; then the named adds, then the named drops. So "drop ALL, add
 * NET_RAW" is exactly NET_RAW, and "add ALL, drop SYS_ADMIN" is all but SYS_ADMIN.
 */
export function capabilityList(opts: {
  privileged: boolean;
  add: readonly string[];
  drop: readonly string[];
  defaults: readonly string[];
  all: readonly string[];
}): string[] {
  if (opts.privileged) return [...opts.all];
  const add = opts.add.map(normalizeCapability);
  const drop = opts.drop.map(normalizeCapability);
  let caps = new Set(opts.defaults.map(normalizeCapability));
  if (add.includes('ALL')) caps = new Set(opts.all);
  if (drop.includes('ALL')) caps = new Set();
  for (const c of add) if (c !== 'ALL') caps.add(c);
  for (const c of drop) if (c !== 'ALL') caps.delete(c);
  // Keep kernel order so the result is deterministic whatever order the request used.
  const order = new Map(ALL_LINUX_CAPABILITIES.map((c, i) => [c, i]));
  return [...caps].sort((a, b) => (order.get(a) ?? 99) - (order.get(b) ?? 99));
}

/** The OCI capabilities object; inheritable and ambient stay empty (no caps leak across exec for non-root). */
export function ociCapabilities(list: readonly string[]): OciCapabilities {
  return { bounding: [...list], effective: [...list], permitted: [...list], inheritable: [], ambient: [] };
}
