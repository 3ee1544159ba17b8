/** Parsing of the image config blob (OCI image-spec config.md / Docker image JSON). */
import { InvalidArgumentError } from '../common/errors';
import { MAX_LAYERS } from './manifest';
import { isDigest } from './reference';
import type { OciImageConfig } from './image-store';

export interface ParsedImageConfig {
  readonly os: string;
  readonly architecture: string;
  readonly diffIds: string[];
  readonly config: OciImageConfig;
  readonly created?: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Parses and checks an image config blob. The `config` object keeps only the fields berth uses,
 * each of the right type (null counts as absent): the blob comes from any registry, and the
 * container layer must never meet a number where it expects a string.
 */
export function parseImageConfig(body: Buffer): ParsedImageConfig {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new InvalidArgumentError('parse image config: not JSON', { cause: err });
  }
  if (!isObject(doc)) throw new InvalidArgumentError('parse image config: not a JSON object');
  const rootfs = doc['rootfs'];
  const diffIds = isObject(rootfs) ? rootfs['diff_ids'] : undefined;
  if (!Array.isArray(diffIds) || !diffIds.every((d) => typeof d === 'string' && isDigest(d))) {
    throw new InvalidArgumentError('parse image config: rootfs.diff_ids missing or malformed');
  }
  if (diffIds.length > MAX_LAYERS) throw new InvalidArgumentError(`parse image config: ${diffIds.length} layers is over the limit of ${MAX_LAYERS}`);
  const cfg = doc['config'];
  if (cfg !== undefined && cfg !== null && !isObject(cfg)) throw new InvalidArgumentError('parse image config: config must be an object');
  return {
    os: typeof doc['os'] === 'string' ? doc['os'] : '',
    architecture: typeof doc['architecture'] === 'string' ? doc['architecture'] : '',
    diffIds: diffIds as string[],
    config: isObject(cfg) ? checkedConfig(cfg) : {},
    created: typeof doc['created'] === 'string' ? doc['created'] : undefined,
  };
}

/** The fields of `config` berth reads, type-checked; errors name the field. */
function checkedConfig(cfg: Record<string, unknown>): OciImageConfig {
  const bad = (key: string, what: string): never => {
    throw new InvalidArgumentError(`parse image config: config.${key} must be ${what}`);
  };
  const present = (key: string): unknown => (cfg[key] === null ? undefined : cfg[key]);
  const str = (key: string): string | undefined => {
    const v = present(key);
    if (v !== undefined && typeof v !== 'string') bad(key, 'a string');
    return v as string | undefined;
  };
  const strings = (key: string): string[] | undefined => {
    const v = present(key);
    if (v !== undefined && !(Array.isArray(v) && v.every((s) => typeof s === 'string'))) bad(key, 'an array of strings');
    return v as string[] | undefined;
  };
  const record = <T>(key: string, ok: (x: unknown) => boolean, what: string): Record<string, T> | undefined => {
    const v = present(key);
    if (v === undefined) return undefined;
    if (!isObject(v) || !Object.values(v).every(ok)) bad(key, what);
    return v as Record<string, T>;
  };
  const out: OciImageConfig = {
    User: str('User'),
    Env: strings('Env'),
    Entrypoint: strings('Entrypoint'),
    Cmd: strings('Cmd'),
    WorkingDir: str('WorkingDir'),
    StopSignal: str('StopSignal'),
    Labels: record<string>('Labels', (x) => typeof x === 'string', 'an object of strings'),
    ExposedPorts: record<object>('ExposedPorts', isObject, 'an object of objects'),
    Volumes: record<object>('Volumes', isObject, 'an object of objects'),
    ArgsEscaped: typeof cfg['ArgsEscaped'] === 'boolean' ? cfg['ArgsEscaped'] : undefined,
  };
  // Absent fields stay absent (not `undefined` own properties) for those comparing configs.
  for (const k of Object.keys(out) as Array<keyof OciImageConfig>) if (out[k] === undefined) delete out[k];
  return out;
}

/** The uid (numeric USER) or username (named USER) an image runs as; CRI's Image.uid/username. */
export function imageUser(config: OciImageConfig): { uid?: number; username?: string } {
  const user = (config.User ?? '').split(':')[0] ?? '';
  if (user === '') return { uid: 0 };
  if (/^\d+$/.test(user)) return { uid: Number(user) };
  return { username: user };
}
