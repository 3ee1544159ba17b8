/**
 * The sandbox store: an in-memory index of pods plus one versioned `state.json` per pod under
 * `<root>/pods/<id>/`, written atomically (tmp + fsync + rename) BEFORE memory changes, so what
 * a List/Status sees has always reached the disk first (docs/contributing.md, "State and recovery").
 *
 *                 RunPodSandbox                        all steps done
 *   (none) ───────────────────────▶ creating ────────────────────────────▶ ready
 *     ▲                               │ a step failed: undo, delete           │ StopPodSandbox, or
 *     │                               ▼                                        │ pause died (pidfd)
 *     │◀──────────────────────────── (none)                                    ▼
 *     │           RemovePodSandbox (containers removed, ns unpinned,        notready
 *     └───────────────────────────── cgroup and dirs deleted) ◀──────────────┘
 *
 * `creating` is on disk only so a crash mid-creation leaves a record recovery can clean up;
 * List/Status never show it. "removed" is the absence of the record. Callers hold the per-pod
 * lock (PodManager) around read-modify-write sequences.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { readJsonIfExists, writeJsonAtomic } from '../common/atomic-file';
import { describeError, InvalidArgumentError } from '../common/errors';
import { Revisions } from '../common/revisions';
import { PodStartStep, SandboxInfo } from './types';

/** Bump when the persisted shape changes incompatibly. */
export const SANDBOX_RECORD_VERSION = 1;

/** What berth knows about a pod's processes and resources (persisted). */
export interface SandboxRuntimeState {
  pausePid?: number;
  /** /proc/<pid>/stat starttime, so recovery can tell pause from a reused pid. */
  pauseStartTime?: string;
  pauseExitedAt?: string;
  cgroupDirs: string[];
  ips: string[];
  cniResult?: unknown;
  /** True once CNI ADD succeeded and until DEL ran. */
  networkAttached: boolean;
  shmMounted: boolean;
  stepTimingsMs: Partial<Record<PodStartStep, number>>;
}

/** One pod's persisted record. */
export interface SandboxRecord {
  version: number;
  phase: 'creating' | 'ready' | 'notready';
  reservedName: string;
  info: Omit<SandboxInfo, 'state'>;
  runtime: SandboxRuntimeState;
}

/** The in-memory index and its files. */
export class SandboxStore {
  private readonly records = new Map<string, SandboxRecord>();
  /** Bumped on every write of a record, so readers can cache what they derive from it. */
  private readonly revisions = new Revisions();

  constructor(private readonly podsDir: string) {}

  /** The directory holding a pod's state.json. */
  dirOf(id: string): string {
    return path.join(this.podsDir, id);
  }

  /** Persists `record` (creating its dir if needed), then indexes it. */
  async put(record: SandboxRecord): Promise<void> {
    const dir = this.dirOf(record.info.id);
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    await writeJsonAtomic(path.join(dir, 'state.json'), record, 0o600);
    this.records.set(record.info.id, record);
    this.revisions.written(record.info.id);
  }

  /** Persists a changed copy of a pod's record; returns it. */
  async update(id: string, change: (draft: SandboxRecord) => void): Promise<SandboxRecord> {
    const current = this.records.get(id);
    if (!current) throw new InvalidArgumentError(`update pod ${id}: not in the store`);
    const draft = structuredClone(current);
    change(draft);
    await this.put(draft);
    return draft;
  }

  /** Deletes the pod's dir, then forgets it. */
  async delete(id: string): Promise<void> {
    await fs.rm(this.dirOf(id), { recursive: true, force: true });
    this.records.delete(id);
    this.revisions.deleted(id);
  }

  /** The record with exactly this id. */
  get(id: string): SandboxRecord | undefined {
    return this.records.get(id);
  }

  /** A number that changes whenever the record of `id` is written (0 for one loaded at start and never written since). */
  revisionOf(id: string): number {
    return this.revisions.of(id);
  }

  /**
   * The id matching `idOrPrefix` exactly or as a unique prefix; undefined when none.
   * Throws InvalidArgumentError when the prefix is ambiguous.
   */
  resolve(idOrPrefix: string): string | undefined {
    if (this.records.has(idOrPrefix)) return idOrPrefix;
    if (idOrPrefix === '') return undefined;
    const matches = [...this.records.keys()].filter((id) => id.startsWith(idOrPrefix));
    if (matches.length > 1) throw new InvalidArgumentError(`pod_sandbox_id: prefix ${idOrPrefix} matches ${matches.length} sandboxes`);
    return matches[0];
  }

  /** Every record (creating ones included). */
  all(): SandboxRecord[] {
    return [...this.records.values()];
  }

  /**
   * Reads every state.json under the pods dir into memory (for recovery at start). A record that
   * cannot be read or parsed, or has an unknown version, is not loaded: it is returned in
   * `unreadable` (with its id and why) so the caller can report it, and its files are left alone
   * for a human. Dirs without a state.json are returned in `withoutRecord`.
   */
  async loadAll(): Promise<{ records: SandboxRecord[]; unreadable: UnreadableSandbox[]; withoutRecord: string[] }> {
    let entries: string[];
    try {
      entries = await fs.readdir(this.podsDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], unreadable: [], withoutRecord: [] };
      throw err;
    }
    const records: SandboxRecord[] = [];
    const unreadable: UnreadableSandbox[] = [];
    const withoutRecord: string[] = [];
    for (const id of entries) {
      if (id.startsWith('.')) continue;
      const file = path.join(this.podsDir, id, 'state.json');
      let record: SandboxRecord | undefined;
      try {
        record = await readJsonIfExists<SandboxRecord>(file);
      } catch (err) {
        unreadable.push({ id, file, error: describeError(err) });
        continue;
      }
      if (!record) {
        withoutRecord.push(id);
        continue;
      }
      if (record.version !== SANDBOX_RECORD_VERSION || record.info?.id !== id) {
        unreadable.push({ id, file, error: `unsupported record (version ${String(record.version)}, id ${String(record.info?.id)})` });
        continue;
      }
      this.records.set(id, record);
      records.push(record);
    }
    return { records, unreadable, withoutRecord };
  }
}

/** A pod state file recovery could not use. */
export interface UnreadableSandbox {
  id: string;
  file: string;
  error: string;
}
