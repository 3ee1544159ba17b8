/** ListPodSandbox filtering (CRI PodSandboxFilter), over the in-memory records. */
import { SandboxRecord } from './sandbox-store';
import { SandboxFilter, SandboxInfo } from './types';

/** The visible sandboxes (not `creating`) matching every field of `filter`. */
export function filterSandboxes(records: readonly SandboxRecord[], filter: SandboxFilter | undefined): SandboxRecord[] {
  const wantedId = filter?.id ? resolveIdFilter(records, filter.id) : undefined;
  if (filter?.id && wantedId === undefined) return [];
  return records.filter((r) => {
    if (r.phase === 'creating') return false;
    if (!filter) return true;
    if (wantedId !== undefined && r.info.id !== wantedId) return false;
    if (filter.state && stateOf(r) !== filter.state) return false;
    for (const [key, value] of Object.entries(filter.labelSelector ?? {})) {
      if (r.info.labels[key] !== value) return false;
    }
    return true;
  });
}

/** The CRI state of a record. */
function stateOf(record: SandboxRecord): SandboxInfo['state'] {
  return record.phase === 'ready' ? 'ready' : 'notready';
}

/** The SandboxInfo view of a record. */
export function infoOf(record: SandboxRecord): SandboxInfo {
  return { ...record.info, state: stateOf(record) };
}

/** The id an id filter names: an exact id, else the one id it is a prefix of (none when ambiguous). */
function resolveIdFilter(records: readonly SandboxRecord[], id: string): string | undefined {
  const visible = records.filter((r) => r.phase !== 'creating');
  if (visible.some((r) => r.info.id === id)) return id;
  const matches = visible.filter((r) => r.info.id.startsWith(id));
  return matches.length === 1 ? matches[0].info.id : undefined;
}
