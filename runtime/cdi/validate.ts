/**
 * Checks a parsed CDI spec document (JSON or YAML, already decoded) against the spec: required
 * fields, name rules, value types, and that `cdiVersion` is one berth reads (0.3.0–0.8.0) and is
 * new enough for the fields used. Pure; throws InvalidArgumentError saying what is wrong.
 */
import { InvalidArgumentError } from '../../common/errors';
import { deviceNameProblem, kindProblem } from './names';
import type { CdiContainerEdits, CdiDevice, CdiDeviceNode, CdiHook, CdiHookName, CdiIntelRdt, CdiMount, CdiSpec } from './types';

/** The spec versions berth reads. */
const SUPPORTED_CDI_VERSIONS = ['0.3.0', '0.4.0', '0.5.0', '0.6.0', '0.7.0', '0.8.0'] as const;

const HOOK_NAMES: readonly CdiHookName[] = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'];
const NODE_TYPES = ['b', 'c', 'u', 'p'] as const;
/** Bounds on list lengths and strings: a spec is admin-written, but a broken one must not stall a create. */
const MAX_ITEMS = 4096;
const MAX_STRING = 65536;
/** Entries of all lists of one spec together: YAML aliases can repeat one big list many times. */
const MAX_TOTAL_ITEMS = 65536;
/** List entries left for the spec being validated (validation is synchronous). */
let itemBudget = MAX_TOTAL_ITEMS;

type Json = Record<string, unknown>;

/** Validates `doc` as a CDI spec; the error message names the offending field. */
export function validateCdiSpec(doc: unknown): CdiSpec {
  itemBudget = MAX_TOTAL_ITEMS;
  const spec = object(doc, 'spec');
  const cdiVersion = string(spec.cdiVersion, 'cdiVersion');
  if (!(SUPPORTED_CDI_VERSIONS as readonly string[]).includes(cdiVersion)) {
    throw new InvalidArgumentError(`cdiVersion ${JSON.stringify(cdiVersion)} is not supported (supported: ${SUPPORTED_CDI_VERSIONS.join(', ')})`);
  }
  const kind = string(spec.kind, 'kind');
  const kp = kindProblem(kind);
  if (kp) throw new InvalidArgumentError(kp);
  const devicesRaw = list(spec.devices, 'devices');
  if (devicesRaw.length === 0) throw new InvalidArgumentError('devices: a spec must define at least one device');
  const names = new Set<string>();
  const devices: CdiDevice[] = devicesRaw.map((d, i) => {
    const field = `devices[${i}]`;
    const o = object(d, field);
    const name = string(o.name, `${field}.name`);
    const np = deviceNameProblem(name);
    if (np) throw new InvalidArgumentError(`${field}.name: ${np}`);
    if (names.has(name)) throw new InvalidArgumentError(`${field}.name: device ${JSON.stringify(name)} is defined twice`);
    names.add(name);
    const containerEdits = edits(o.containerEdits, `${field}.containerEdits`);
    if (isEmpty(containerEdits)) throw new InvalidArgumentError(`${field}.containerEdits: a device needs at least one edit`);
    return { name, ...(o.annotations !== undefined ? { annotations: stringMap(o.annotations, `${field}.annotations`) } : {}), containerEdits };
  });
  const out: CdiSpec = {
    cdiVersion,
    kind,
    devices,
    ...(spec.annotations !== undefined ? { annotations: stringMap(spec.annotations, 'annotations') } : {}),
    ...(spec.containerEdits !== undefined && spec.containerEdits !== null ? { containerEdits: edits(spec.containerEdits, 'containerEdits') } : {}),
  };
  const needed = minimumVersion(out);
  if (compareVersions(cdiVersion, needed.version) < 0) {
    throw new InvalidArgumentError(`cdiVersion ${cdiVersion} is too old for ${needed.why} (needs ${needed.version} or newer)`);
  }
  return out;
}

/** The lowest spec version that has every feature `spec` uses, and the newest such feature. */
export function minimumVersion(spec: CdiSpec): { version: string; why: string } {
  const all = [spec.containerEdits, ...spec.devices.map((d) => d.containerEdits)].filter((e): e is CdiContainerEdits => e !== undefined);
  if (all.some((e) => e.intelRdt !== undefined || (e.additionalGids?.length ?? 0) > 0)) return { version: '0.7.0', why: 'intelRdt or additionalGids' };
  if (spec.annotations || spec.devices.some((d) => d.annotations) || spec.kind.slice(spec.kind.indexOf('/') + 1).includes('.')) return { version: '0.6.0', why: "annotations or a '.' in the class" };
  if (spec.devices.some((d) => !/^[A-Za-z]/.test(d.name)) || all.some((e) => e.deviceNodes?.some((n) => n.hostPath !== undefined))) return { version: '0.5.0', why: 'a device name not starting with a letter, or deviceNodes[].hostPath' };
  if (all.some((e) => e.mounts?.some((m) => m.type !== undefined))) return { version: '0.4.0', why: 'mounts[].type' };
  return { version: '0.3.0', why: 'the base spec' };
}

/** Orders two x.y.z versions. */
function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

function isEmpty(e: CdiContainerEdits): boolean {
  return !e.env?.length && !e.deviceNodes?.length && !e.mounts?.length && !e.hooks?.length && !e.additionalGids?.length && e.intelRdt === undefined;
}

function edits(v: unknown, field: string): CdiContainerEdits {
  if (v === undefined || v === null) return {};
  const o = object(v, field);
  const out: CdiContainerEdits = {};
  if (o.env != null) out.env = list(o.env, `${field}.env`).map((e, i) => envEntry(e, `${field}.env[${i}]`));
  if (o.deviceNodes != null) out.deviceNodes = list(o.deviceNodes, `${field}.deviceNodes`).map((n, i) => deviceNode(n, `${field}.deviceNodes[${i}]`));
  if (o.mounts != null) out.mounts = list(o.mounts, `${field}.mounts`).map((m, i) => mount(m, `${field}.mounts[${i}]`));
  if (o.hooks != null) out.hooks = list(o.hooks, `${field}.hooks`).map((h, i) => hook(h, `${field}.hooks[${i}]`));
  if (o.additionalGids != null) out.additionalGids = list(o.additionalGids, `${field}.additionalGids`).map((g, i) => uint(g, `${field}.additionalGids[${i}]`, 0xffffffff));
  if (o.intelRdt != null) out.intelRdt = intelRdt(o.intelRdt, `${field}.intelRdt`);
  return out;
}

function deviceNode(v: unknown, field: string): CdiDeviceNode {
  const o = object(v, field);
  const out: CdiDeviceNode = { path: absolute(o.path, `${field}.path`) };
  if (o.hostPath != null && o.hostPath !== '') out.hostPath = absolute(o.hostPath, `${field}.hostPath`);
  if (o.type != null && o.type !== '') {
    const t = string(o.type, `${field}.type`);
    if (!(NODE_TYPES as readonly string[]).includes(t)) throw new InvalidArgumentError(`${field}.type: ${JSON.stringify(t)} is not one of b, c, u, p`);
    out.type = t as CdiDeviceNode['type'];
  }
  if (o.major != null) out.major = uint(o.major, `${field}.major`, 0xffffffff);
  if (o.minor != null) out.minor = uint(o.minor, `${field}.minor`, 0xffffffff);
  if (o.fileMode != null) out.fileMode = uint(o.fileMode, `${field}.fileMode`, 0o7777);
  if (o.permissions != null && o.permissions !== '') {
    const p = string(o.permissions, `${field}.permissions`);
    if (!/^[rwm]{1,3}$/.test(p) || new Set(p).size !== p.length) throw new InvalidArgumentError(`${field}.permissions: ${JSON.stringify(p)} is not a subset of "rwm"`);
    out.permissions = p;
  }
  if (o.uid != null) out.uid = uint(o.uid, `${field}.uid`, 0xffffffff);
  if (o.gid != null) out.gid = uint(o.gid, `${field}.gid`, 0xffffffff);
  return out;
}

function mount(v: unknown, field: string): CdiMount {
  const o = object(v, field);
  const out: CdiMount = { hostPath: string(o.hostPath, `${field}.hostPath`), containerPath: absolute(o.containerPath, `${field}.containerPath`) };
  if (out.hostPath === '') throw new InvalidArgumentError(`${field}.hostPath: is empty`);
  if (out.containerPath.split('/').includes('..')) throw new InvalidArgumentError(`${field}.containerPath: ${JSON.stringify(out.containerPath)} has ".." components`);
  if (o.type != null && o.type !== '') out.type = string(o.type, `${field}.type`);
  if (o.options != null) out.options = list(o.options, `${field}.options`).map((x, i) => string(x, `${field}.options[${i}]`));
  return out;
}

function hook(v: unknown, field: string): CdiHook {
  const o = object(v, field);
  const name = string(o.hookName, `${field}.hookName`);
  if (!(HOOK_NAMES as readonly string[]).includes(name)) throw new InvalidArgumentError(`${field}.hookName: ${JSON.stringify(name)} is not one of ${HOOK_NAMES.join(', ')}`);
  const out: CdiHook = { hookName: name as CdiHookName, path: absolute(o.path, `${field}.path`) };
  if (o.args != null) out.args = list(o.args, `${field}.args`).map((x, i) => string(x, `${field}.args[${i}]`));
  if (o.env != null) out.env = list(o.env, `${field}.env`).map((x, i) => envEntry(x, `${field}.env[${i}]`));
  if (o.timeout != null) {
    const t = uint(o.timeout, `${field}.timeout`, 0x7fffffff);
    if (t === 0) throw new InvalidArgumentError(`${field}.timeout: must be greater than zero`);
    out.timeout = t;
  }
  return out;
}

function intelRdt(v: unknown, field: string): CdiIntelRdt {
  const o = object(v, field);
  const out: CdiIntelRdt = {};
  for (const k of ['closID', 'l3CacheSchema', 'memBwSchema'] as const) if (o[k] != null) out[k] = string(o[k], `${field}.${k}`);
  for (const k of ['enableCMT', 'enableMBM'] as const) {
    if (o[k] == null) continue;
    if (typeof o[k] !== 'boolean') throw new InvalidArgumentError(`${field}.${k}: must be a boolean`);
    out[k] = o[k] as boolean;
  }
  return out;
}

function envEntry(v: unknown, field: string): string {
  const s = string(v, field);
  if (s.indexOf('=') <= 0) throw new InvalidArgumentError(`${field}: ${JSON.stringify(s)} is not NAME=value`);
  return s;
}

function object(v: unknown, field: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new InvalidArgumentError(`${field}: must be an object`);
  return v as Json;
}

function list(v: unknown, field: string): unknown[] {
  if (!Array.isArray(v)) throw new InvalidArgumentError(`${field}: must be a list`);
  if (v.length > MAX_ITEMS) throw new InvalidArgumentError(`${field}: more than ${MAX_ITEMS} entries`);
  itemBudget -= v.length;
  if (itemBudget < 0) throw new InvalidArgumentError(`${field}: the spec has more than ${MAX_TOTAL_ITEMS} list entries in all`);
  return v;
}

function string(v: unknown, field: string): string {
  if (typeof v !== 'string') throw new InvalidArgumentError(`${field}: must be a string`);
  if (v.length > MAX_STRING) throw new InvalidArgumentError(`${field}: longer than ${MAX_STRING} characters`);
  if (v.includes('\0')) throw new InvalidArgumentError(`${field}: contains a NUL byte`);
  return v;
}

function absolute(v: unknown, field: string): string {
  const s = string(v, field);
  if (!s.startsWith('/')) throw new InvalidArgumentError(`${field}: ${JSON.stringify(s)} is not an absolute path`);
  return s;
}

function uint(v: unknown, field: string, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) throw new InvalidArgumentError(`${field}: must be an integer in 0..${max}`);
  return v;
}

function stringMap(v: unknown, field: string): Record<string, string> {
  const o = object(v, field);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(o)) out[k] = string(val, `${field}[${JSON.stringify(k)}]`);
  return out;
}
