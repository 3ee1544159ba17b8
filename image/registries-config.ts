/**
 * containers-registries.conf(5) v2, as podman and cri-o read it: `[[registry]]` tables with
 * prefix/location/insecure/blocked, `[[registry.mirror]]` tried in order before the registry,
 * and `unqualified-search-registries`. The image keeps its original name whichever endpoint
 * served it.
 */
import { promises as fs } from 'node:fs';
import { parse as parseToml } from 'smol-toml';
import { InvalidArgumentError, FailedPreconditionError } from '../common/errors';
import { DEFAULT_DOMAIN, ImageReference, isRegistryHost, repositoryOf } from './reference';

/** `s` without trailing slashes (a loop: /\/+$/ backtracks quadratically on long runs of slashes). */
function trimSlashes(s: string): string {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 0x2f) end--;
  return s.slice(0, end);
}

/** The host part of `host[/path]`, or of the domain of a `*.domain` wildcard. */
function hostPart(location: string): string {
  const bare = location.startsWith('*.') ? location.slice(2) : location;
  const slash = bare.indexOf('/');
  return slash < 0 ? bare : bare.slice(0, slash);
}

export type PullFromMirror = 'all' | 'digest-only' | 'tag-only';

export interface MirrorEntry {
  readonly location: string;
  readonly insecure: boolean;
  readonly pullFromMirror: PullFromMirror;
}

export interface RegistryEntry {
  /** What the entry matches: `host[/path]` or `*.domain`. */
  readonly prefix: string;
  /** Where it is fetched from instead (defaults to the prefix). */
  readonly location: string;
  readonly insecure: boolean;
  readonly blocked: boolean;
  readonly mirrors: readonly MirrorEntry[];
}

export interface RegistriesConfig {
  readonly unqualifiedSearchRegistries: readonly string[];
  readonly registries: readonly RegistryEntry[];
}

/** One place to try a pull from: a host and the repository path on it. */
export interface PullEndpoint {
  readonly host: string;
  readonly repository: string;
  readonly insecure: boolean;
  readonly mirror: boolean;
}

export const EMPTY_REGISTRIES_CONFIG: RegistriesConfig = { unqualifiedSearchRegistries: [], registries: [] };

/** Loads the file at `file`; a missing file is the empty config. */
export async function loadRegistriesConfig(file: string | undefined): Promise<RegistriesConfig> {
  if (!file) return EMPTY_REGISTRIES_CONFIG;
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return EMPTY_REGISTRIES_CONFIG;
    throw new FailedPreconditionError(`read registries config ${file}`, { cause: err });
  }
  return parseRegistriesConfig(text, file);
}

/** Parses registries.conf v2 text; errors name the file and the offending key. */
export function parseRegistriesConfig(text: string, source = 'registries.conf'): RegistriesConfig {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (err) {
    throw new InvalidArgumentError(`parse ${source}`, { cause: err });
  }
  const fail = (msg: string): never => {
    throw new InvalidArgumentError(`${source}: ${msg}`);
  };
  if (doc['registries'] !== undefined && !Array.isArray(doc['registry'])) {
    fail('the v1 format ([registries.search] etc.) is not supported; use v2 [[registry]] tables');
  }
  const search = doc['unqualified-search-registries'] ?? [];
  if (!Array.isArray(search) || !search.every((s) => typeof s === 'string')) {
    fail('unqualified-search-registries must be an array of strings');
  }
  (search as string[]).forEach((s, i) => {
    if (!isRegistryHost(s)) fail(`unqualified-search-registries[${i}]: ${JSON.stringify(s.slice(0, 100))} is not a registry host`);
  });
  const checkHost = (location: string, where: string): void => {
    if (!isRegistryHost(hostPart(location))) fail(`${where}: ${JSON.stringify(location.slice(0, 100))} does not start with a registry host`);
  };
  const entries: RegistryEntry[] = [];
  const raw = doc['registry'] ?? [];
  if (!Array.isArray(raw)) fail('registry must be an array of tables ([[registry]])');
  (raw as unknown[]).forEach((r, i) => {
    if (typeof r !== 'object' || r === null) fail(`registry[${i}] must be a table`);
    const t = r as Record<string, unknown>;
    const str = (k: string): string | undefined => {
      const v = t[k];
      if (v === undefined) return undefined;
      if (typeof v !== 'string') fail(`registry[${i}].${k} must be a string`);
      const trimmed = trimSlashes(v as string);
      checkHost(trimmed, `registry[${i}].${k}`);
      return trimmed;
    };
    const bool = (o: Record<string, unknown>, k: string, where: string): boolean => {
      const v = o[k];
      if (v === undefined) return false;
      if (typeof v !== 'boolean') fail(`${where}.${k} must be a boolean`);
      return v as boolean;
    };
    const location = str('location');
    const prefix = str('prefix') ?? location;
    if (!prefix) fail(`registry[${i}] needs a prefix or a location`);
    if (prefix!.startsWith('*.') && location !== undefined && location !== prefix) {
      fail(`registry[${i}]: a wildcard prefix cannot have a location`);
    }
    const mirrorsRaw = t['mirror'] ?? [];
    if (!Array.isArray(mirrorsRaw)) fail(`registry[${i}].mirror must be an array of tables`);
    const mirrors = (mirrorsRaw as unknown[]).map((m, j): MirrorEntry => {
      const where = `registry[${i}].mirror[${j}]`;
      if (typeof m !== 'object' || m === null) fail(`${where} must be a table`);
      const mt = m as Record<string, unknown>;
      if (typeof mt['location'] !== 'string' || !mt['location']) fail(`${where}.location is required`);
      const pfm = mt['pull-from-mirror'] ?? 'all';
      if (pfm !== 'all' && pfm !== 'digest-only' && pfm !== 'tag-only') fail(`${where}.pull-from-mirror must be all, digest-only or tag-only`);
      const digestOnly = bool(mt, 'mirror-by-digest-only', `registry[${i}]`) || bool(t, 'mirror-by-digest-only', `registry[${i}]`);
      const location = trimSlashes(mt['location'] as string);
      checkHost(location, `${where}.location`);
      return {
        location,
        insecure: bool(mt, 'insecure', where),
        pullFromMirror: digestOnly ? 'digest-only' : (pfm as PullFromMirror),
      };
    });
    entries.push({
      prefix: prefix!,
      location: location ?? prefix!,
      insecure: bool(t, 'insecure', `registry[${i}]`),
      blocked: bool(t, 'blocked', `registry[${i}]`),
      mirrors,
    });
  });
  return { unqualifiedSearchRegistries: search as string[], registries: entries };
}

/** The entry with the longest prefix matching `ref`, if any. */
function findRegistryEntry(config: RegistriesConfig, ref: ImageReference): RegistryEntry | undefined {
  const name = repositoryOf(ref);
  let best: RegistryEntry | undefined;
  let bestLen = -1;
  for (const e of config.registries) {
    let len = -1;
    if (e.prefix.startsWith('*.')) {
      const suffix = e.prefix.slice(1); // ".example.com"
      if (ref.domain.endsWith(suffix)) len = e.prefix.length;
    } else if (name === e.prefix || name.startsWith(e.prefix + '/')) {
      len = e.prefix.length;
    }
    if (len > bestLen) {
      best = e;
      bestLen = len;
    }
  }
  return best;
}

/** Splits `host[/path]` into host and path. */
function splitLocation(location: string): { host: string; path: string } {
  const i = location.indexOf('/');
  return i < 0 ? { host: location, path: '' } : { host: location.slice(0, i), path: location.slice(i + 1) };
}

function rewrite(location: string, prefix: string, ref: ImageReference, wildcard: boolean): { host: string; repository: string } {
  const name = repositoryOf(ref);
  const rewritten = wildcard ? name : location + name.slice(prefix.length);
  const { host, path } = splitLocation(rewritten);
  let repository = path;
  // Docker Hub's single-component names live under library/ on any Docker Hub endpoint.
  if (host === DEFAULT_DOMAIN || host === 'registry-1.docker.io') {
    if (!repository.includes('/')) repository = `library/${repository}`;
  }
  return { host: host === DEFAULT_DOMAIN ? 'registry-1.docker.io' : host, repository };
}

/**
 * The endpoints to try for `ref`, mirrors first (in order), then the registry itself. Throws
 * FailedPrecondition when the registry is blocked.
 */
export function pullEndpoints(config: RegistriesConfig, ref: ImageReference): PullEndpoint[] {
  const entry = findRegistryEntry(config, ref);
  if (!entry) {
    const { host, repository } = rewrite(ref.domain, ref.domain, ref, false);
    return [{ host, repository, insecure: false, mirror: false }];
  }
  if (entry.blocked) {
    throw new FailedPreconditionError(`pull ${repositoryOf(ref)}: registry ${entry.prefix} is blocked in the registries config`);
  }
  const wildcard = entry.prefix.startsWith('*.');
  const out: PullEndpoint[] = [];
  for (const m of entry.mirrors) {
    if (m.pullFromMirror === 'digest-only' && ref.digest === undefined) continue;
    if (m.pullFromMirror === 'tag-only' && ref.digest !== undefined) continue;
    const { host, repository } = rewrite(m.location, entry.prefix, ref, false);
    out.push({ host, repository, insecure: m.insecure, mirror: true });
  }
  const { host, repository } = rewrite(entry.location, entry.prefix, ref, wildcard);
  out.push({ host, repository, insecure: entry.insecure, mirror: false });
  return out;
}

/** Registries a short name is resolved against, in order (docker.io when none are configured). */
export function searchRegistries(config: RegistriesConfig): readonly string[] {
  return config.unqualifiedSearchRegistries.length > 0 ? config.unqualifiedSearchRegistries : [DEFAULT_DOMAIN];
}
