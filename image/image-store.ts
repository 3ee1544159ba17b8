/**
 * Image records, one JSON file per image under `<dir>/records/<config hex>.json`, written
 * atomically and loaded at start; an in-memory index by id, tag and digest serves the hot
 * ListImages/ImageStatus path (docs/contributing.md, "Hot paths").
 *
 * A record is written only after every layer it names is in the layer store, so a record that
 * exists always describes a complete image (a failed pull leaves no record).
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { readJsonIfExists, writeJsonAtomic } from '../common/atomic-file';

/** The image config's `config` object (OCI image-spec config.md, Docker's container config). */
export interface OciImageConfig {
  User?: string;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  WorkingDir?: string;
  StopSignal?: string;
  Labels?: Record<string, string> | null;
  ExposedPorts?: Record<string, object> | null;
  Volumes?: Record<string, object> | null;
  ArgsEscaped?: boolean;
}

export interface ImageRecord {
  readonly version: 1;
  /** The config digest. */
  readonly id: string;
  readonly repoTags: string[];
  readonly repoDigests: string[];
  /** The manifest digest this image was pulled as. */
  readonly manifestDigest: string;
  /** Bytes: config plus compressed layers, as the registry reported them. */
  readonly size: number;
  /** Layer chain IDs, bottom layer first. */
  readonly chainIds: string[];
  readonly pinned: boolean;
  /** When the record was written, ms since the epoch. */
  readonly createdAt: number;
}

export class ImageStore {
  private readonly byId = new Map<string, ImageRecord>();

  constructor(readonly dir: string) {}

  /** Record files that could not be used at init (reported, left on disk). */
  readonly unreadable: Array<{ id: string; file: string; error: string }> = [];
  /** Temp files of interrupted atomic record writes removed at init. */
  readonly tempFilesRemoved: string[] = [];

  /** Creates the directory and loads every record; unreadable ones are reported and skipped. */
  async init(): Promise<void> {
    const dir = path.join(this.dir, 'records');
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    for (const f of await fs.readdir(dir)) {
      const file = path.join(dir, f);
      if (f.startsWith('.') && f.includes('.tmp-')) {
        // A crash mid writeJsonAtomic: the rename never happened, the old record (if any) stands.
        await fs.rm(file, { force: true });
        this.tempFilesRemoved.push(file);
        continue;
      }
      if (!f.endsWith('.json')) continue;
      const id = `sha256:${f.slice(0, -'.json'.length)}`;
      try {
        const rec = await readJsonIfExists<ImageRecord>(file);
        if (!rec) continue;
        if (rec.version !== 1 || rec.id !== id) throw new Error(`unsupported record (version ${String(rec.version)}, id ${String(rec.id)})`);
        this.byId.set(rec.id, rec);
      } catch (err) {
        this.unreadable.push({ id, file, error: err instanceof Error ? err.message : String(err) });
      }
    }
  }

  /** Every image record. */
  list(): ImageRecord[] {
    return [...this.byId.values()];
  }

  /** The record with this id (config digest), if any. */
  get(id: string): ImageRecord | undefined {
    return this.byId.get(id);
  }

  /** The image a tag (`repo:tag`) currently names. */
  findByTag(tag: string): ImageRecord | undefined {
    for (const r of this.byId.values()) if (r.repoTags.includes(tag)) return r;
    return undefined;
  }

  /** The image a digest reference (`repo@sha256:…`) names. */
  findByRepoDigest(name: string): ImageRecord | undefined {
    for (const r of this.byId.values()) if (r.repoDigests.includes(name)) return r;
    return undefined;
  }

  /** Images whose id starts with `prefix` (hex, with or without `sha256:`). */
  findByIdPrefix(prefix: string): ImageRecord[] {
    const p = prefix.startsWith('sha256:') ? prefix : `sha256:${prefix}`;
    return this.list().filter((r) => r.id.startsWith(p));
  }

  /** Writes a record (durably first, then in memory). */
  async put(rec: ImageRecord): Promise<void> {
    await writeJsonAtomic(this.recordPath(rec.id), rec);
    this.byId.set(rec.id, rec);
  }

  /** Deletes a record (missing is fine). */
  async delete(id: string): Promise<void> {
    await fs.rm(this.recordPath(id), { force: true });
    this.byId.delete(id);
  }

  private recordPath(id: string): string {
    return path.join(this.dir, 'records', `${id.slice(id.indexOf(':') + 1)}.json`);
  }
}
