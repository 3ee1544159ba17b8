/**
 * User-namespace id mappings (CRI UserNamespace / IDMapping) as the pod and container layers
 * accept them. Only the shape kubelet allocates is accepted: one uid and one gid mapping each
 * covering 65536 ids from container id 0, at a 65536-aligned host id above the host's own first
 * 65536 ids (so no pod can ever map onto host root or the host's system users).
 */
import { InvalidArgumentError } from './errors';

/** CRI NamespaceMode values, repeated here as common/ cannot see the pod or cri layers. */
const MODE = { POD: 0, CONTAINER: 1, NODE: 2, TARGET: 3 } as const;

/** Ids a pod's user namespace covers (kubelet's allocation unit). */
const POD_ID_RANGE = 65536;
/** The highest host id a range may end at: (uid_t)-1 is "no id" and must stay unmapped. */
const MAX_HOST_ID_END = 0xffffffff;

type Maybe<T> = T | null | undefined;

/** One IDMapping as decoded from the wire (numbers may be absent). */
export interface IdMappingInput {
  hostId?: Maybe<number>;
  containerId?: Maybe<number>;
  length?: Maybe<number>;
}

/** CRI UserNamespace as decoded from the wire. */
export interface UserNamespaceInput {
  mode?: Maybe<number>;
  uids?: Maybe<IdMappingInput[]>;
  gids?: Maybe<IdMappingInput[]>;
}

/** A validated mapping. */
export interface IdMapping {
  hostId: number;
  containerId: number;
  length: number;
}

/** A validated user namespace: its uid and gid mappings. */
export interface UserNamespaceMappings {
  uids: IdMapping[];
  gids: IdMapping[];
}

/**
 * `opt` (the field named `field`) → the mappings of a new user namespace, or undefined for the
 * host's (absent, or mode NODE without mappings). Everything else is refused naming the field.
 */
export function validateUserNamespace(opt: Maybe<UserNamespaceInput>, field: string): UserNamespaceMappings | undefined {
  if (!opt) return undefined;
  const mode = opt.mode ?? MODE.POD;
  const uids = opt.uids ?? [];
  const gids = opt.gids ?? [];
  if (mode === MODE.NODE) {
    if (uids.length > 0 || gids.length > 0) throw new InvalidArgumentError(`${field}.uids: mode NODE (the host's user namespace) takes no mappings`);
    return undefined;
  }
  if (mode === MODE.CONTAINER || mode === MODE.TARGET) {
    throw new InvalidArgumentError(`${field}.mode: ${mode === MODE.CONTAINER ? 'CONTAINER' : 'TARGET'} is not supported (only POD or NODE)`);
  }
  if (mode !== MODE.POD) throw new InvalidArgumentError(`${field}.mode: unknown mode ${mode}`);
  return { uids: validateList(uids, `${field}.uids`), gids: validateList(gids, `${field}.gids`) };
}

function validateList(list: IdMappingInput[], field: string): IdMapping[] {
  if (list.length !== 1) throw new InvalidArgumentError(`${field}: exactly one mapping is required, got ${list.length}`);
  const m = list[0];
  const hostId = m.hostId ?? 0;
  const containerId = m.containerId ?? 0;
  const length = m.length ?? 0;
  for (const [key, v] of [['host_id', hostId], ['container_id', containerId], ['length', length]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > MAX_HOST_ID_END) throw new InvalidArgumentError(`${field}[0].${key}: ${v} is not a 32-bit id`);
  }
  if (containerId !== 0) throw new InvalidArgumentError(`${field}[0].container_id: must be 0, got ${containerId}`);
  if (length !== POD_ID_RANGE) throw new InvalidArgumentError(`${field}[0].length: must be ${POD_ID_RANGE}, got ${length}`);
  if (hostId % POD_ID_RANGE !== 0) throw new InvalidArgumentError(`${field}[0].host_id: ${hostId} is not a multiple of ${POD_ID_RANGE}`);
  if (hostId < POD_ID_RANGE) throw new InvalidArgumentError(`${field}[0].host_id: ${hostId} overlaps the host's ids 0-${POD_ID_RANGE - 1}`);
  if (hostId + length > MAX_HOST_ID_END) throw new InvalidArgumentError(`${field}[0].host_id: ${hostId} + ${length} reaches past the last id`);
  return [{ hostId, containerId, length }];
}

/** True when `a` and `b` map the same ids (both undefined: both the host's). */
export function sameUserNamespace(a: UserNamespaceMappings | undefined, b: UserNamespaceMappings | undefined): boolean {
  if (!a || !b) return a === b;
  const same = (x: IdMapping[], y: IdMapping[]): boolean =>
    x.length === y.length && x.every((m, i) => m.hostId === y[i].hostId && m.containerId === y[i].containerId && m.length === y[i].length);
  return same(a.uids, b.uids) && same(a.gids, b.gids);
}

/** The host id that container id `id` maps to, or undefined when it is not mapped. */
export function hostIdOf(mappings: IdMapping[], id: number): number | undefined {
  const m = mappings.find((x) => id >= x.containerId && id < x.containerId + x.length);
  return m ? m.hostId + (id - m.containerId) : undefined;
}
