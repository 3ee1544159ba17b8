/**
 * Per-section validation of an assembled config (docs/contributing.md, "Configuration"): each check returns errors and
 * warnings whose messages start with `[section] key:` and say where the value came from.
 */
import { OPTIONS, optionLabel, type BerthConfig, type OptionSpec } from './config-schema';

/** Outcome of validation; errors make berthd refuse to start. */
export interface ConfigIssues {
  errors: string[];
  warnings: string[];
}

/** Where each value came from ("default", a file path, or "--flag"), for messages. */
export type ConfigSources = Map<string, string>;

/** Validates every option and the cross-field rules. */
export function validateConfig(config: BerthConfig, sources: ConfigSources): ConfigIssues {
  const issues: ConfigIssues = { errors: [], warnings: [] };
  for (const spec of OPTIONS) {
    const problem = checkValue(spec, config[spec.field]);
    if (problem) issues.errors.push(`${optionLabel(spec)}: ${problem}${fromWhere(sources, spec.field)}`);
  }
  validateRuntimes(config, sources, issues);
  if (config.defaultNetworkBridge.length > 15) {
    issues.errors.push(`[cni.default_network] bridge: "${config.defaultNetworkBridge}" is longer than 15 characters (Linux interface name limit)${fromWhere(sources, 'defaultNetworkBridge')}`);
  }
  if ((config.streamingTlsCert === '') !== (config.streamingTlsKey === '')) {
    issues.errors.push(`[streaming] tls_cert and tls_key: set both or neither${fromWhere(sources, config.streamingTlsCert ? 'streamingTlsCert' : 'streamingTlsKey')}`);
  }
  return issues;
}

function validateRuntimes(config: BerthConfig, sources: ConfigSources, issues: ConfigIssues): void {
  const names = Object.keys(config.runtimes);
  if (names.length === 0) issues.errors.push('[runtimes]: at least one runtime handler must be configured');
  for (const [name, rt] of Object.entries(config.runtimes)) {
    if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name)) {
      issues.errors.push(`[runtimes.${name}]: handler name must be a lowercase DNS label-like name (RuntimeClass handler)`);
    }
    if (typeof rt.path !== 'string' || !rt.path.startsWith('/')) {
      issues.errors.push(`[runtimes.${name}] path: must be an absolute path, got ${JSON.stringify(rt.path)}${fromWhere(sources, `runtimes.${name}.path`)}`);
    }
    if (rt.root !== undefined && !rt.root.startsWith('/')) {
      issues.errors.push(`[runtimes.${name}] root: must be an absolute path, got ${JSON.stringify(rt.root)}${fromWhere(sources, `runtimes.${name}.root`)}`);
    }
  }
  if (names.length > 0 && !names.includes(config.defaultRuntime)) {
    issues.errors.push(`[runtime] default_runtime: "${config.defaultRuntime}" is not a configured runtime (configured: ${names.join(', ')})${fromWhere(sources, 'defaultRuntime')}`);
  }
}

/** What is wrong with `value` for `spec`, or undefined. */
export function checkValue(spec: OptionSpec, value: unknown): string | undefined {
  switch (spec.kind) {
    case 'path':
      return typeof value === 'string' && value.startsWith('/') ? undefined : `must be an absolute path, got ${JSON.stringify(value)}`;
    case 'path-or-empty':
      return typeof value === 'string' && (value === '' || value.startsWith('/')) ? undefined : `must be an absolute path or "", got ${JSON.stringify(value)}`;
    case 'path-list':
      if (!Array.isArray(value) || value.length === 0) return 'must be a non-empty list of absolute paths';
      for (const p of value) if (typeof p !== 'string' || !p.startsWith('/')) return `must list absolute paths, got ${JSON.stringify(p)}`;
      return undefined;
    case 'int':
      return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 0xffffffff ? undefined : `must be a non-negative integer, got ${JSON.stringify(value)}`;
    case 'enum':
      return typeof value === 'string' && spec.choices?.includes(value) ? undefined : `must be one of ${spec.choices?.join(', ')}, got ${JSON.stringify(value)}`;
    case 'name':
      return typeof value === 'string' && /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(value) ? undefined : `must be a non-empty name of letters, digits, '.', '_' or '-', got ${JSON.stringify(value)}`;
    case 'cidr':
      return typeof value === 'string' && isIpv4Cidr(value) ? undefined : `must be an IPv4 prefix like 10.89.0.0/16 (prefix 8..30), got ${JSON.stringify(value)}`;
    case 'url-or-empty':
      return typeof value === 'string' && (value === '' || isOtlpUrl(value)) ? undefined : `must be an http://, https://, grpc:// or grpcs:// URL or "", got ${JSON.stringify(value)}`;
    case 'ratio':
      return typeof value === 'number' && value >= 0 && value <= 1 ? undefined : `must be a number from 0 to 1, got ${JSON.stringify(value)}`;
    case 'address':
      return typeof value === 'string' && (value === '' || parseHostPort(value) !== undefined) ? undefined : `must be host:port (port 0..65535) or "", got ${JSON.stringify(value)}`;
  }
}

/** Splits "host:port" (IPv6 hosts in brackets); undefined when malformed. */
export function parseHostPort(address: string): { host: string; port: number } | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/.exec(address);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port > 65535) return undefined;
  return { host: m[1].replace(/^\[|\]$/g, ''), port };
}

function isOtlpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return ['http:', 'https:', 'grpc:', 'grpcs:'].includes(u.protocol) && u.hostname !== '';
  } catch {
    return false;
  }
}

function isIpv4Cidr(s: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(s);
  if (!m) return false;
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  return octets.every((o) => o <= 255) && prefix >= 8 && prefix <= 30;
}

function fromWhere(sources: ConfigSources, field: string): string {
  const source = sources.get(field);
  return source && source !== 'default' ? ` (from ${source})` : '';
}
