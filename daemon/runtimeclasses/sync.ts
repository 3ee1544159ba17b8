/** `runtimeclasses sync`: list, plan, and (with apply) create or update RuntimeClasses. */
import { FailedPreconditionError } from '../../common/errors';
import type { RuntimeClassApi } from './kube-api';
import { planSync, type PlannedAction, type SyncPlan } from './plan';

/** The outcome: the plan, and whether its changes were written. */
export interface SyncReport {
  server: string;
  applied: boolean;
  plan: SyncPlan;
}

/**
 * Brings the cluster's RuntimeClasses in line with `handlers`. A dry run (apply false) only
 * lists; with apply, creates and updates are sent in handler order and the first failure stops
 * the sync (the error says which call failed). Conflicts never cause writes.
 */
export async function syncRuntimeClasses(api: RuntimeClassApi, handlers: readonly string[], apply: boolean): Promise<SyncReport> {
  const plan = planSync(handlers, await api.list());
  if (apply) {
    for (const step of plan.actions) {
      if (step.action === 'create') await api.create(step.object);
      else if (step.action === 'update') await api.replace(step.name, step.object);
    }
  }
  return { server: api.server, applied: apply, plan };
}

/** The report as lines for a terminal. */
export function formatSyncReport(report: SyncReport): string {
  const lines = [`RuntimeClasses at ${report.server}${report.applied ? '' : ' (dry run; --apply writes)'}:`];
  for (const step of report.plan.actions) lines.push(`  ${step.name.padEnd(16)}${describeAction(step, report.applied)}`);
  for (const other of report.plan.notConfiguredHere) {
    lines.push(`  ${other.name.padEnd(16)}left alone: managed by berth but handler "${other.handler}" is not configured on this node`);
  }
  return lines.join('\n') + '\n';
}

function describeAction(step: PlannedAction, applied: boolean): string {
  switch (step.action) {
    case 'create':
      return applied ? 'created' : 'would create';
    case 'update':
      return `${applied ? 'updated' : 'would update'} (${step.reason})`;
    case 'unchanged':
      return 'unchanged';
    case 'conflict':
      return `conflict: ${step.reason}`;
  }
}

/** A typed error when the plan holds conflicts (reported after the other changes were made). */
export function conflictsError(report: SyncReport): FailedPreconditionError | undefined {
  const conflicts = report.plan.actions.filter((a) => a.action === 'conflict');
  if (conflicts.length === 0) return undefined;
  return new FailedPreconditionError(`sync RuntimeClasses: ${conflicts.length} conflict(s): ${conflicts.map((c) => c.name).join(', ')}`);
}
