/**
 * Loads the effective configuration: typed defaults → main file (/etc/berth/berth.toml) →
 * drop-ins (/etc/berth/berth.d/*.toml, lexical order) → CLI flags, then validates it. Unknown
 * keys are warnings; type and value errors refuse to start with a message naming the key.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { errnoCode, InvalidArgumentError } from '../common/errors';
import { defaultConfig, OPTIONS, optionLabel, type BerthConfig, type OptionSpec, type ScalarField } from './config-schema';
import { validateConfig, type ConfigSources } from './config-validate';

export type { BerthConfig, RuntimeHandlerConfig } from './config-schema';

/** Default main config file. */
export const DEFAULT_CONFIG_PATH = '/etc/berth/berth.toml';
/** Default drop-in directory. */
export const DEFAULT_CONFIG_DIR = '/etc/berth/berth.d';

/** The configuration is unusable; `problems` lists one message per bad key. */
export class ConfigInvalidError extends InvalidArgumentError {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
}

/** Inputs of loadConfig. */
export interface LoadConfigOptions {
  /** Main file; when given explicitly it must exist. */
  configPath?: string;
  /** Drop-in directory; a missing directory is fine. */
  configDir?: string;
  /** Config flags in command-line order. */
  optionFlags?: Array<{ flag: string; value: string }>;
}

/** The effective config with what produced it. */
export interface LoadedConfig {
  config: BerthConfig;
  warnings: string[];
  /** Files read, in the order applied. */
  files: string[];
}

const SECTIONS = new Set(OPTIONS.map((o) => o.section));
const RUNTIME_KEYS = new Set(['path', 'root']);

/** Builds the effective config; throws ConfigInvalidError listing every problem. */
export function loadConfig(opts: LoadConfigOptions = {}): LoadedConfig {
  const config = defaultConfig();
  const sources: ConfigSources = new Map();
  const warnings: string[] = [];
  const errors: string[] = [];
  const files: string[] = [];

  const mainPath = opts.configPath ?? DEFAULT_CONFIG_PATH;
  const mainText = readOptional(mainPath, opts.configPath !== undefined, errors);
  if (mainText !== undefined) {
    files.push(mainPath);
    applyTomlText(config, mainText, mainPath, sources, warnings, errors);
  }
  const dropInDir = opts.configDir ?? DEFAULT_CONFIG_DIR;
  for (const file of listDropIns(dropInDir, errors)) {
    const text = readOptional(file, true, errors);
    if (text === undefined) continue;
    files.push(file);
    applyTomlText(config, text, file, sources, warnings, errors);
  }
  for (const { flag, value } of opts.optionFlags ?? []) applyFlag(config, flag, value, sources, errors);

  if (errors.length === 0) {
    const issues = validateConfig(config, sources);
    errors.push(...issues.errors);
    warnings.push(...issues.warnings);
  }
  if (errors.length > 0) throw new ConfigInvalidError(errors);
  return { config, warnings, files };
}

function readOptional(file: string, mustExist: boolean, errors: string[]): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' && !mustExist) return undefined;
    errors.push(`${file}: cannot read config file: ${(err as Error).message}`);
    return undefined;
  }
}

function listDropIns(dir: string, errors: string[]): string[] {
  try {
    return fs
      .readdirSync(dir)
      .filter((name) => name.endsWith('.toml'))
      .sort()
      .map((name) => path.join(dir, name));
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') errors.push(`${dir}: cannot list drop-in directory: ${(err as Error).message}`);
    return [];
  }
}

/** Applies one TOML document onto `config` (exported for tests). */
export function applyTomlText(config: BerthConfig, text: string, file: string, sources: ConfigSources, warnings: string[], errors: string[]): void {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (err) {
    errors.push(`${file}: parse TOML: ${(err as Error).message.split('\n')[0]}`);
    return;
  }
  applyTable(config, doc, '', file, sources, warnings, errors);
}

function applyTable(config: BerthConfig, table: Record<string, unknown>, section: string, file: string, sources: ConfigSources, warnings: string[], errors: string[]): void {
  for (const [key, value] of Object.entries(table)) {
    const nested = section ? `${section}.${key}` : key;
    if (section === '' && key === 'runtimes') {
      applyRuntimes(config, value, file, sources, warnings, errors);
    } else if (SECTIONS.has(nested) && isTable(value)) {
      applyTable(config, value, nested, file, sources, warnings, errors);
    } else {
      const spec = OPTIONS.find((o) => o.section === section && o.key === key);
      if (!spec) {
        warnings.push(`${file}: ${section ? `[${section}] ${key}` : key}: unknown key, ignored`);
        continue;
      }
      const problem = assignTyped(config, spec, value);
      if (problem) errors.push(`${file}: ${optionLabel(spec)}: ${problem}`);
      else sources.set(spec.field, file);
    }
  }
}

function applyRuntimes(config: BerthConfig, value: unknown, file: string, sources: ConfigSources, warnings: string[], errors: string[]): void {
  if (!isTable(value)) {
    errors.push(`${file}: [runtimes]: must be a table of [runtimes.<name>] sections`);
    return;
  }
  for (const [name, entry] of Object.entries(value)) {
    if (!isTable(entry)) {
      errors.push(`${file}: [runtimes.${name}]: must be a table with path (and optional root)`);
      continue;
    }
    const current = config.runtimes[name] ?? { path: '' };
    for (const [key, v] of Object.entries(entry)) {
      if (!RUNTIME_KEYS.has(key)) {
        warnings.push(`${file}: [runtimes.${name}] ${key}: unknown key, ignored`);
        continue;
      }
      if (typeof v !== 'string') {
        errors.push(`${file}: [runtimes.${name}] ${key}: expected a string, got ${describeType(v)}`);
        continue;
      }
      if (key === 'path') current.path = v;
      else current.root = v === '' ? undefined : v;
      sources.set(`runtimes.${name}.${key}`, file);
    }
    config.runtimes[name] = current;
  }
}

function applyFlag(config: BerthConfig, flag: string, raw: string, sources: ConfigSources, errors: string[]): void {
  const spec = OPTIONS.find((o) => o.flag === flag);
  if (!spec) {
    errors.push(`--${flag}: not a config flag`);
    return;
  }
  let value: unknown = raw;
  if (spec.kind === 'int') value = /^\d+$/.test(raw) ? Number(raw) : raw;
  else if (spec.kind === 'ratio') value = /^\d*\.?\d+$/.test(raw) ? Number(raw) : raw;
  else if (spec.kind === 'path-list') value = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const problem = assignTyped(config, spec, value);
  if (problem) errors.push(`--${flag}: ${optionLabel(spec)}: ${problem}`);
  else sources.set(spec.field, `--${flag}`);
}

/** Stores `value` when its type fits `spec`; returns the problem otherwise. */
function assignTyped(config: BerthConfig, spec: OptionSpec, value: unknown): string | undefined {
  const target = config as unknown as Record<ScalarField, unknown>;
  if (spec.kind === 'int') {
    if (typeof value === 'bigint') value = Number(value);
    if (typeof value !== 'number' || !Number.isInteger(value)) return `expected an integer, got ${describeType(value)}`;
  } else if (spec.kind === 'ratio') {
    if (typeof value === 'bigint') value = Number(value);
    if (typeof value !== 'number' || !Number.isFinite(value)) return `expected a number, got ${describeType(value)}`;
  } else if (spec.kind === 'path-list') {
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) return `expected a list of strings, got ${describeType(value)}`;
    value = [...value];
  } else if (typeof value !== 'string') {
    return `expected a string, got ${describeType(value)}`;
  }
  target[spec.field] = value;
  return undefined;
}

function isTable(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function describeType(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (isTable(v)) return 'a table';
  return `${typeof v} ${JSON.stringify(typeof v === 'bigint' ? String(v) : v)}`;
}
