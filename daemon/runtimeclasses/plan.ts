/**
 * What `berthd runtimeclasses sync` wants the cluster to hold: one RuntimeClass per runtime
 * handler configured in `[runtimes.*]` (name = handler), labelled as berth's. Pure functions: the
 * desired objects, and the plan that compares them with what the apiserver listed.
 */

/** The label every RuntimeClass berth writes carries (Kubernetes recommended label). */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'berth';

/** The fields of a node.k8s.io/v1 RuntimeClass berth reads and writes. */
export interface RuntimeClassObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; labels?: Record<string, string>; resourceVersion?: string; [key: string]: unknown };
  handler: string;
  [key: string]: unknown;
}

/** One planned change for one handler. */
export type PlannedAction =
  | { action: 'create'; name: string; object: RuntimeClassObject }
  | { action: 'update'; name: string; object: RuntimeClassObject; reason: string }
  | { action: 'unchanged'; name: string }
  /** A RuntimeClass of that name exists with another handler; `handler` is immutable, so berth leaves it and reports it. */
  | { action: 'conflict'; name: string; reason: string };

/** A berth-labelled RuntimeClass whose handler this node does not configure (left alone: other nodes may). */
export interface UnknownManaged {
  name: string;
  handler: string;
}

/** The plan for all handlers, in handler order. */
export interface SyncPlan {
  actions: PlannedAction[];
  notConfiguredHere: UnknownManaged[];
}

/** The RuntimeClass berth wants for `handler`. */
export function desiredRuntimeClass(handler: string): RuntimeClassObject {
  return {
    apiVersion: 'node.k8s.io/v1',
    kind: 'RuntimeClass',
    metadata: { name: handler, labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE } },
    handler,
  };
}

/** Compares the desired RuntimeClasses for `handlers` with the `existing` ones. */
export function planSync(handlers: readonly string[], existing: readonly RuntimeClassObject[]): SyncPlan {
  const byName = new Map(existing.map((rc) => [rc.metadata.name, rc]));
  const actions: PlannedAction[] = [];
  for (const handler of [...new Set(handlers)].sort()) {
    const current = byName.get(handler);
    if (!current) {
      actions.push({ action: 'create', name: handler, object: desiredRuntimeClass(handler) });
      continue;
    }
    if (current.handler !== handler) {
      actions.push({
        action: 'conflict',
        name: handler,
        reason: `RuntimeClass ${handler} exists with handler "${current.handler}" (handler cannot be changed; delete it or rename the berth handler)`,
      });
      continue;
    }
    const labels = current.metadata.labels ?? {};
    if (labels[MANAGED_BY_LABEL] === MANAGED_BY_VALUE) {
      actions.push({ action: 'unchanged', name: handler });
      continue;
    }
    // Keep everything else (resourceVersion for optimistic concurrency, overhead, scheduling, other labels).
    const object: RuntimeClassObject = { ...current, metadata: { ...current.metadata, labels: { ...labels, [MANAGED_BY_LABEL]: MANAGED_BY_VALUE } } };
    const was = labels[MANAGED_BY_LABEL] === undefined ? 'missing' : `"${labels[MANAGED_BY_LABEL]}"`;
    actions.push({ action: 'update', name: handler, object, reason: `label ${MANAGED_BY_LABEL} was ${was}` });
  }
  const configured = new Set(handlers);
  const notConfiguredHere = existing
    .filter((rc) => rc.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE && !configured.has(rc.metadata.name))
    .map((rc) => ({ name: rc.metadata.name, handler: rc.handler }))
    .sort((a, b) => a.name.localeCompare(b.name));
  return { actions, notConfiguredHere };
}
