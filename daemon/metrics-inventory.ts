/**
 * Gauges of what the node holds right now: containers and pod sandboxes by state, pods by user
 * namespace, open streaming sessions. They are
 * computed at scrape time from the layers' in-memory indexes (no runc calls), through the narrow
 * source interface below, which the integrator passes in daemon/layers.ts.
 */
import { Gauge, type Registry } from 'prom-client';

/** Something that can count its objects by state (served from memory; called on every scrape). */
export interface StateCountSource {
  countsByState(): Record<string, number>;
}

/** The sources; either may be absent until its layer is wired. */
export interface InventorySources {
  containers?: StateCountSource;
  pods?: StateCountSource;
  /** Pod sandboxes by whether they run in the host's user namespace (CRI hostUsers). */
  podUserNamespaces?: { countsByHostUsers(): { hostUsers: number; userNamespace: number } };
  /** Streaming sessions open now by kind (exec, attach, portforward). */
  streamingSessions?: { activeSessions(): Readonly<Record<string, number>> };
  /** Image volumes mounted for the containers berth knows. */
  imageVolumes?: { count(): number };
}

/** CRI container states (lower-case, as runtime/ records them); always exported, 0 when none. */
export const CONTAINER_STATES = ['created', 'running', 'exited', 'unknown'] as const;
/** CRI sandbox states (lower-case, as pod/ records them). */
export const POD_STATES = ['ready', 'notready'] as const;

const PREFIX = 'container_runtime_berth';

/** Registers `container_runtime_berth_containers{state}`, `container_runtime_berth_pods{state}` `container_runtime_berth_pods_by_host_users{host_users}` and `container_runtime_berth_streaming_sessions{kind}` on `registry`. */
export function registerInventoryMetrics(registry: Registry, sources: InventorySources): void {
  new Gauge({
    name: `${PREFIX}_containers`,
    help: 'Containers known to berth, by CRI state (created, running, exited, unknown).',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      setCounts(this, CONTAINER_STATES, sources.containers);
    },
  });
  new Gauge({
    name: `${PREFIX}_pods`,
    help: 'Pod sandboxes known to berth, by CRI state (ready, notready).',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      setCounts(this, POD_STATES, sources.pods);
    },
  });
  new Gauge({
    name: `${PREFIX}_pods_by_host_users`,
    help: 'Pod sandboxes known to berth, by whether they share the host user namespace (host_users="true") or have their own (host_users="false").',
    labelNames: ['host_users'],
    registers: [registry],
    collect() {
      this.reset();
      const counts = sources.podUserNamespaces?.countsByHostUsers();
      if (!counts) return;
      this.set({ host_users: 'true' }, counts.hostUsers);
      this.set({ host_users: 'false' }, counts.userNamespace);
    },
  });
  new Gauge({
    name: `${PREFIX}_streaming_sessions`,
    help: 'Streaming sessions open now (exec, attach, portforward), SPDY and WebSocket together.',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      this.reset();
      const counts = sources.streamingSessions?.activeSessions();
      for (const [kind, n] of Object.entries(counts ?? {})) this.set({ kind }, n);
    },
  });
  new Gauge({
    name: `${PREFIX}_image_volumes`,
    help: 'Image volumes (OCI images mounted as container volumes) mounted now; released at RemoveContainer.',
    registers: [registry],
    collect() {
      this.reset();
      if (sources.imageVolumes) this.set(sources.imageVolumes.count());
    },
  });
}

/** Counts sandboxes by whether they have their own user namespace (a helper for podUserNamespaces). */
export function countByHostUsers(items: Iterable<{ userNamespace?: unknown }>): { hostUsers: number; userNamespace: number } {
  const out = { hostUsers: 0, userNamespace: 0 };
  for (const item of items) {
    if (item.userNamespace) out.userNamespace++;
    else out.hostUsers++;
  }
  return out;
}

/** Counts `items` by their `state` field (a helper for building a StateCountSource). */
export function countByState(items: Iterable<{ state: string }>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) out[item.state] = (out[item.state] ?? 0) + 1;
  return out;
}

function setCounts(gauge: Gauge<'state'>, known: readonly string[], source: StateCountSource | undefined): void {
  gauge.reset();
  if (!source) return;
  const counts = source.countsByState();
  for (const state of known) gauge.set({ state }, counts[state] ?? 0);
  for (const [state, n] of Object.entries(counts)) if (!known.includes(state)) gauge.set({ state }, n);
}
