/**
 * The container store (docs/contributing.md, "State and recovery"): one versioned JSON file per container at
 * `<root>/containers/<id>/state.json`, written atomically; an in-memory index serves List/Status;
 * memory changes only after the write succeeded; per-container locks; names are reserved before
 * any work so a kubelet retry finds the container in flight instead of building a second one.
 *
 * State machine (CRI ContainerState):
 *
 *     (reserve name) ──create ok──▶ CREATED ──start──▶ RUNNING ──exit file──▶ EXITED
 *           │                          │                                       ▲
 *           └─create failed: released   └────────exit file (never started)─────┘
 *
 *     any state ──remove──▶ (record and directory deleted, name released)
 *     UNKNOWN: recovery found a record whose runtime state cannot be read.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { writeJsonAtomic } from '../common/atomic-file';
import { describeError, errnoCode, RuntimeError } from '../common/errors';
import { KeyedMutex } from '../common/keyed-mutex';
import { KeyedReservations } from '../common/keyed-reservations';
import { Revisions } from '../common/revisions';
import type { Logger } from '../common/logger';
import { CONTAINER_RECORD_VERSION, type ContainerRecord } from './container-record';

const STATE_FILE = 'state.json';

export class ContainerStore {
  private readonly records = new Map<string, ContainerRecord>();
  /** Bumped on every change of a record, so readers can cache what they derive from it. */
  private readonly revisions = new Revisions();
  /** reserved name → container id (also for containers still being created; retries join those). */
  readonly names = new KeyedReservations('container');
  /** Operation locks (start/stop/remove/update of one container run one at a time). */
  readonly locks = new KeyedMutex();
  /** Record write locks, held only for one read-modify-write. */
  private readonly writes = new KeyedMutex();

  constructor(
    /** `<root>/containers` */
    readonly dir: string,
    private readonly logger: Logger,
  ) {}

  /** The container's directory. */
  containerDir(id: string): string {
    return path.join(this.dir, id);
  }

  /**
   * Loads every record from disk (at daemon start). Unreadable ones (torn JSON, unknown version,
   * I/O errors) are logged with the container id, returned in `unreadable`, and left on disk.
   */
  async load(): Promise<{ records: ContainerRecord[]; unreadable: UnreadableContainer[] }> {
    await fs.mkdir(this.dir, { recursive: true });
    const records: ContainerRecord[] = [];
    const unreadable: UnreadableContainer[] = [];
    for (const id of await fs.readdir(this.dir)) {
      if (id.startsWith('.')) continue;
      const file = path.join(this.dir, id, STATE_FILE);
      try {
        const rec = JSON.parse(await fs.readFile(file, 'utf8')) as ContainerRecord;
        if (rec.version !== CONTAINER_RECORD_VERSION || rec.id !== id) {
          throw new RuntimeError(`unsupported container record (version ${String(rec.version)}, id ${String(rec.id)})`);
        }
        this.records.set(rec.id, rec);
        this.names.claim(rec.reservedName, rec.id, rec.configFingerprint);
        records.push(rec);
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') continue; // a create that died before its first write
        unreadable.push({ id, file, error: describeError(err) });
        this.logger.error('skip unreadable container record', { container: id, file, err: describeError(err) });
      }
    }
    return { records, unreadable };
  }

  get(id: string): ContainerRecord | undefined {
    return this.records.get(id);
  }

  /** A number that changes whenever the record of `id` does (0 for one loaded at start and never written since). */
  revisionOf(id: string): number {
    return this.revisions.of(id);
  }

  /** A number that changes whenever any record is written or deleted. */
  changeCount(): number {
    return this.revisions.count();
  }

  list(): ContainerRecord[] {
    return [...this.records.values()];
  }

  /**
   * Writes a new container's first record into its new directory, then updates memory. Its name
   * is not fsynced into the directory: a power loss before the filesystem's next commit (or the
   * container's next record write) may forget a container that was only created, which that power
   * loss stopped and unmounted anyway; the content is complete whenever the file exists. One
   * journal commit instead of two on CreateContainer's path.
   */
  async putNew(rec: ContainerRecord): Promise<void> {
    await writeJsonAtomic(path.join(this.containerDir(rec.id), STATE_FILE), rec, 0o600, { syncDir: false });
    this.remember(rec);
  }

  /** Writes the record to disk, then updates memory. */
  async put(rec: ContainerRecord): Promise<void> {
    const file = path.join(this.containerDir(rec.id), STATE_FILE);
    // The directory nearly always exists (CreateContainer made it): mkdir only when it does not.
    await writeJsonAtomic(file, rec, 0o600).catch(async (err: unknown) => {
      if (errnoCode(err) !== 'ENOENT') throw err;
      await fs.mkdir(this.containerDir(rec.id), { recursive: true });
      await writeJsonAtomic(file, rec, 0o600);
    });
    this.remember(rec);
  }

  /** Memory after a record write: the record and a new revision (views and lists cached per revision see it). */
  private remember(rec: ContainerRecord): void {
    this.records.set(rec.id, rec);
    this.revisions.written(rec.id);
  }

  /**
   * Applies `change` to a copy of the record, persists it, and returns the new record. Updates of
   * one container are serialised (an exit report and a Start may race), and none lands after delete.
   * `change` returns false to say "nothing to change" (no write).
   */
  async update(id: string, change: (rec: ContainerRecord) => void | false): Promise<ContainerRecord | undefined> {
    return this.writes.run(id, async () => {
      const current = this.records.get(id);
      if (!current) return undefined;
      const next = structuredClone(current);
      if (change(next) === false) return current; // nothing to change: no write
      await this.put(next);
      return next;
    });
  }

  /**
   * Takes the record off the disk, then forgets the container. `dispose` gets the container's
   * directory and must take the record file away (default: delete it; the directory is then the
   * caller's); while it runs no update can write the record, and when it throws nothing is forgotten.
   */
  async delete(id: string, dispose: (dir: string) => Promise<void> = (dir) => fs.rm(path.join(dir, STATE_FILE), { force: true })): Promise<void> {
    await this.writes.run(id, async () => {
      const rec = this.records.get(id);
      await dispose(this.containerDir(id));
      this.records.delete(id);
      this.revisions.deleted(id);
      if (rec) this.names.release(rec.reservedName, id);
    });
  }

  /** Finds a container by full id or unique id prefix. */
  resolveId(idOrPrefix: string): string | undefined {
    if (this.records.has(idOrPrefix)) return idOrPrefix;
    if (idOrPrefix.length < 4) return undefined;
    const matches = [...this.records.keys()].filter((k) => k.startsWith(idOrPrefix));
    return matches.length === 1 ? matches[0] : undefined;
  }
}

/** A container state file recovery could not use. */
export interface UnreadableContainer {
  id: string;
  file: string;
  error: string;
}
