/** Read-only views of container records for Status and List (served from memory: docs/contributing.md, "Hot paths"). */
import { deepFreeze } from '../common/deep-freeze';
import type { ContainerRecord, ContainerState } from './container-record';

/** What ContainerStatus reports. */
export interface ContainerStatusView
  extends Pick<
    ContainerRecord,
    | 'id' | 'podSandboxId' | 'name' | 'attempt' | 'state' | 'createdAtNs' | 'startedAtNs' | 'finishedAtNs' | 'exitCode'
    | 'stopSignal' | 'reason' | 'message' | 'labels' | 'annotations' | 'mounts' | 'logPath' | 'resources' | 'user' | 'pid'
  > {
  /** name: reported as image.image; ref: repo digest (else id); id: the image id. */
  image: { requested: string; id: string; ref: string; name: string };
}

/** ListContainers filter (all fields optional; labels must all match). */
export interface ContainerFilter {
  id?: string;
  state?: ContainerState;
  podSandboxId?: string;
  labelSelector?: Record<string, string>;
}

/**
 * The status view of a record (a copy: callers may not mutate the store). Copied field by field:
 * structuredClone of the whole record cost ~10 µs per container, 1.1 ms per ListContainers of 110.
 */
export function statusView(rec: ContainerRecord): ContainerStatusView {
  return {
    id: rec.id,
    podSandboxId: rec.podSandboxId,
    name: rec.name,
    attempt: rec.attempt,
    state: rec.state,
    createdAtNs: rec.createdAtNs,
    startedAtNs: rec.startedAtNs,
    finishedAtNs: rec.finishedAtNs,
    exitCode: rec.exitCode,
    // Records written before `name` existed report what they always did.
    image: { ...rec.image, name: rec.image.name ?? rec.image.requested },
    stopSignal: rec.stopSignal ?? '',
    reason: rec.reason,
    message: rec.message,
    labels: { ...rec.labels },
    annotations: { ...rec.annotations },
    // mounts and resources nest arrays and objects: deep copies (few containers have many)
    mounts: rec.mounts.length > 0 ? structuredClone(rec.mounts) : [],
    logPath: rec.logPath,
    resources: rec.resources === undefined ? undefined : structuredClone(rec.resources),
    user: { ...rec.user, supplementalGroups: [...rec.user.supplementalGroups] },
    pid: rec.pid,
  };
}

/**
 * The status views of records, each built once per record revision and shared, deeply frozen,
 * by every Status and List call until the record changes (the store gives each change a new
 * revision, so a new state is seen by the next call). Entries go with their records.
 */
export class StatusViewCache {
  private readonly views = new WeakMap<ContainerRecord, { revision: number; view: ContainerStatusView }>();

  /** `revisionOf` is the store's: a record's revision changes with every write of it. */
  constructor(private readonly revisionOf: (id: string) => number) {}

  /** The view of `rec` at its current revision. */
  viewOf(rec: ContainerRecord): ContainerStatusView {
    const revision = this.revisionOf(rec.id);
    const hit = this.views.get(rec);
    if (hit && hit.revision === revision) return hit.view;
    const view = deepFreeze(statusView(rec));
    this.views.set(rec, { revision, view });
    return view;
  }
}

/** The pod id of a filter that names only a pod (no id, state or labels), else undefined. */
export function podOnlyFilter(filter: ContainerFilter | undefined): string | undefined {
  if (!filter?.podSandboxId || filter.id || filter.state) return undefined;
  return Object.keys(filter.labelSelector ?? {}).length === 0 ? filter.podSandboxId : undefined;
}

/**
 * The container views of one pod, per pod id, kept (frozen) until the store changes: PodSandboxStatus
 * and the pod stats ask per pod, and walking every container of the node for each was most of a call.
 * Empty lists are not kept: a removed pod is asked for after its containers went (by its removal and
 * its events), and its id would stay here until the next container change.
 */
export class PodViewLists {
  private readonly lists = new Map<string, ContainerStatusView[]>();
  private at = -1;

  /** Pods with a kept list. */
  get size(): number {
    return this.lists.size;
  }

  /** The list for `podSandboxId` while the store's change count is `changes`; `build` makes it. */
  get(podSandboxId: string, changes: number, build: () => ContainerStatusView[]): ContainerStatusView[] {
    // Bounded: ids a client names that match nothing cost a reset, not memory.
    if (this.at !== changes || this.lists.size >= 4096) {
      this.lists.clear();
      this.at = changes;
    }
    let list = this.lists.get(podSandboxId);
    if (!list) {
      list = Object.freeze(build()) as ContainerStatusView[];
      if (list.length > 0) this.lists.set(podSandboxId, list);
    }
    return list;
  }
}

/** True when `rec` passes `filter` (id matches as a prefix, as crictl expects). */
export function matchesFilter(rec: ContainerRecord, filter: ContainerFilter | undefined): boolean {
  if (!filter) return true;
  if (filter.id && !rec.id.startsWith(filter.id)) return false;
  if (filter.state && rec.state !== filter.state) return false;
  if (filter.podSandboxId && !rec.podSandboxId.startsWith(filter.podSandboxId)) return false;
  for (const [k, v] of Object.entries(filter.labelSelector ?? {})) {
    if (rec.labels[k] !== v) return false;
  }
  return true;
}

/** The reason CRI reports for an exit: OOMKilled, Completed or Error. */
export function exitReason(exitCode: number, oomKilled: boolean): string {
  if (oomKilled) return 'OOMKilled';
  return exitCode === 0 ? 'Completed' : 'Error';
}
