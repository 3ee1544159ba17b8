/**
 * The CDI spec files of the configured directories, re-read when they change: every resolve
 * lists the directories and stats the files (cheap: one readdir and one stat per file), and only
 * files whose inode, size or mtime moved are parsed again. No watchers to leak or miss events.
 * A later directory has priority over an earlier one (/var/run/cdi over /etc/cdi, as in the CDI
 * library); two files of the same directory defining one device make that device an error.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { FailedPreconditionError, InvalidArgumentError, describeError, errnoCode } from '../../common/errors';
import type { Logger } from '../../common/logger';
import { collectEdits, type IndexedDevice } from './collect';
import type { CdiEdits, CdiRequest, CdiSpec } from './types';
import { validateCdiSpec } from './validate';

/** Largest spec file read (NVIDIA's specs for 8 GPUs are ~100 KiB). */
export const MAX_SPEC_FILE_BYTES = 4 * 1024 * 1024;
/** Most spec files read per directory. */
const MAX_SPEC_FILES_PER_DIR = 1024;

interface CachedFile {
  /** inode, size and mtime when parsed. */
  stamp: string;
  spec?: CdiSpec;
}

/** A device name defined by two files of the same priority. */
interface Conflict {
  conflict: [string, string];
}

/** Loads, validates and caches CDI specs; resolves requested devices to edits. */
export class CdiRegistry {
  private readonly cache = new Map<string, CachedFile>();
  private scanning: Promise<Map<string, IndexedDevice | Conflict>> | undefined;
  private queued: Promise<Map<string, IndexedDevice | Conflict>> | undefined;

  constructor(
    private readonly dirs: readonly string[],
    private readonly logger?: Logger,
  ) {}

  /** The edits for `requests`; FailedPrecondition naming the request field for an unknown or conflicting device. */
  async resolve(requests: readonly CdiRequest[]): Promise<CdiEdits> {
    const index = await this.index();
    const devices = requests.map((r) => {
      const found = index.get(r.name);
      if (!found) throw new FailedPreconditionError(`${r.field}: unknown CDI device ${JSON.stringify(r.name)}`);
      if ('conflict' in found) throw new FailedPreconditionError(`${r.field}: CDI device ${JSON.stringify(r.name)} is defined by both ${found.conflict[0]} and ${found.conflict[1]}`);
      return { ...found, request: r };
    });
    return collectEdits(devices, statNode);
  }

  /** Every valid device by qualified name, from the spec files as they are now. */
  index(): Promise<Map<string, IndexedDevice | Conflict>> {
    if (!this.scanning) {
      this.scanning = this.scan().finally(() => (this.scanning = undefined));
      return this.scanning;
    }
    // The scan in progress may have listed a directory before a change this caller must see:
    // callers arriving meanwhile share one more scan after it.
    this.queued ??= this.scanning
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return this.index();
      });
    return this.queued;
  }

  private async scan(): Promise<Map<string, IndexedDevice | Conflict>> {
    const index = new Map<string, IndexedDevice & { priority: number } | Conflict & { priority: number }>();
    const present = new Set<string>();
    for (const [priority, dir] of this.dirs.entries()) {
      for (const file of await specFiles(dir, this.logger)) {
        present.add(file);
        const spec = await this.load(file);
        if (!spec) continue;
        for (const device of spec.devices) {
          const name = `${spec.kind}=${device.name}`;
          const old = index.get(name);
          if (old && old.priority === priority) {
            const first = 'conflict' in old ? old.conflict[0] : old.file;
            index.set(name, { conflict: [first, file], priority });
          } else {
            index.set(name, { spec, device, file, priority });
          }
        }
      }
    }
    for (const file of this.cache.keys()) if (!present.has(file)) this.cache.delete(file);
    return index;
  }

  /** The file's spec (re-parsed only when changed); undefined when invalid (logged once per change). */
  private async load(file: string): Promise<CdiSpec | undefined> {
    let st;
    try {
      st = await fs.stat(file);
    } catch {
      return undefined; // removed meanwhile
    }
    if (!st.isFile()) return undefined;
    const stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
    const cached = this.cache.get(file);
    if (cached && cached.stamp === stamp) return cached.spec;
    let spec: CdiSpec | undefined;
    try {
      spec = parseSpecFile(file, await readBounded(file, st.size));
    } catch (err) {
      this.logger?.warn('CDI spec file skipped', { file, error: describeError(err) });
    }
    this.cache.set(file, { stamp, spec });
    return spec;
  }
}

/** js-yaml is required on the first YAML spec: most nodes have no CDI specs, and the daemon need not carry it. */
function parseYaml(text: string, file: string): unknown {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: see above
  const yaml = require('js-yaml') as typeof import('js-yaml');
  return yaml.load(text, { schema: yaml.CORE_SCHEMA, filename: file });
}

/** Decodes (JSON for .json, YAML otherwise) and validates one spec file's text. */
export function parseSpecFile(file: string, text: string): CdiSpec {
  let doc: unknown;
  try {
    doc = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text, file);
  } catch (err) {
    throw new InvalidArgumentError(`parse ${file}: ${describeError(err).split('\n')[0]}`, { cause: err });
  }
  try {
    return validateCdiSpec(doc);
  } catch (err) {
    throw new InvalidArgumentError(`${file}: ${describeError(err)}`, { cause: err });
  }
}

/** The .json and .yaml files of `dir` in name order; none when it does not exist or cannot be read (logged). */
async function specFiles(dir: string, logger: Logger | undefined): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') logger?.warn('CDI spec directory skipped', { dir, error: describeError(err) });
    return [];
  }
  return names
    .filter((n) => n.endsWith('.json') || n.endsWith('.yaml'))
    .sort()
    .slice(0, MAX_SPEC_FILES_PER_DIR)
    .map((n) => path.join(dir, n));
}

async function readBounded(file: string, size: number): Promise<string> {
  if (size > MAX_SPEC_FILE_BYTES) throw new InvalidArgumentError(`${file} is larger than ${MAX_SPEC_FILE_BYTES} bytes`);
  const handle = await fs.open(file, 'r');
  try {
    const buf = Buffer.alloc(MAX_SPEC_FILE_BYTES + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n > MAX_SPEC_FILE_BYTES) throw new InvalidArgumentError(`${file} is larger than ${MAX_SPEC_FILE_BYTES} bytes`);
    }
    return buf.subarray(0, n).toString('utf8');
  } finally {
    await handle.close();
  }
}

/** stat of a device node's host path: type and numbers (undefined when it does not exist). */
async function statNode(hostPath: string): Promise<{ type: 'b' | 'c' | 'p'; major: number; minor: number; fileMode: number } | undefined> {
  let st;
  try {
    st = await fs.stat(hostPath);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return undefined;
    throw err;
  }
  const rdev = BigInt(st.rdev);
  const type = st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : st.isFIFO() ? 'p' : undefined;
  if (!type) throw new FailedPreconditionError(`${hostPath} is not a device node`);
  return { type, major: Number((rdev >> 8n) & 0xfffn), minor: Number((rdev & 0xffn) | ((rdev >> 12n) & 0xfff00n)), fileMode: st.mode & 0o777 };
}
