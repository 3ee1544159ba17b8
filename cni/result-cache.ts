/**
 * On-disk record of each pod's network attachment, written atomically before ADD starts
 * ("adding") and after it finished ("added"). DEL reads it, so a berthd restart or a changed
 * config dir still tears a pod down with the exact config, runtime args and result of its ADD.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { readJsonIfExists, writeJsonAtomic } from '../common/atomic-file';
import { errnoCode, InvalidArgumentError, RuntimeError } from '../common/errors';
import { CniResult, NetworkConfigList } from './types';

/** Bump when the record's shape changes incompatibly. */
export const RESULT_CACHE_VERSION = 1;

/** What is remembered about one pod's attachment. */
export interface CachedAttachment {
  version: number;
  podId: string;
  /** 'adding' while ADD runs (a crash leaves it so DEL still cleans up), 'added' after. */
  state: 'adding' | 'added';
  /** Where the config came from (file path or 'embedded-default'), for humans. */
  source: string;
  config: NetworkConfigList;
  ifName: string;
  netnsPath: string;
  cniArgs: string;
  /** Every capability argument supplied at ADD; filtered per plugin on each call. */
  runtimeConfig: Record<string, unknown>;
  /** The final result of the chain (absent while 'adding'). */
  result?: CniResult;
}

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,252}$/;

/** Per-pod JSON files in one directory. */
export class ResultCache {
  constructor(private readonly dir: string) {}

  /**
   * Creates the directory and deletes temp files of atomic writes a crash interrupted (no write
   * runs yet: this is called once, before the first pod).
   */
  async init(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const names = await fs.readdir(this.dir);
    await Promise.all(names.filter((n) => /^\..+\.json\.tmp-/.test(n)).map((n) => fs.rm(path.join(this.dir, n), { force: true })));
  }

  /** The record of `podId`, or undefined. */
  async read(podId: string): Promise<CachedAttachment | undefined> {
    const file = this.fileOf(podId);
    let record: CachedAttachment | undefined;
    try {
      record = await readJsonIfExists<CachedAttachment>(file);
    } catch (cause) {
      throw new RuntimeError(`read CNI result cache ${file}`, { cause });
    }
    if (record && record.version !== RESULT_CACHE_VERSION) {
      throw new RuntimeError(`read CNI result cache ${file}: unsupported version ${String(record.version)}`);
    }
    return record;
  }

  /** Writes the record atomically. */
  async write(record: CachedAttachment): Promise<void> {
    const file = this.fileOf(record.podId);
    try {
      await writeJsonAtomic(file, record, 0o600);
    } catch (cause) {
      throw new RuntimeError(`write CNI result cache ${file}`, { cause });
    }
  }

  /** Deletes the record; absent is fine. */
  async remove(podId: string): Promise<void> {
    try {
      await fs.unlink(this.fileOf(podId));
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw new RuntimeError(`remove CNI result cache of pod ${podId}`, { cause: err });
    }
  }

  /** Ids of every pod with a record (for recovery and tests). */
  async list(): Promise<string[]> {
    const names = await fs.readdir(this.dir).catch(() => [] as string[]);
    return names.filter((n) => n.endsWith('.json') && !n.startsWith('.')).map((n) => n.slice(0, -'.json'.length));
  }

  private fileOf(podId: string): string {
    assertSafePodId(podId);
    return path.join(this.dir, `${podId}.json`);
  }
}

/** Pod ids become file names and CNI_CONTAINERID: refuse anything path-like. */
export function assertSafePodId(podId: string): void {
  if (!SAFE_ID.test(podId)) throw new InvalidArgumentError(`pod id ${JSON.stringify(podId)} is not a valid CNI container id`);
}
