/**
 * Applies resolved CDI edits to a built OCI spec, the way the CDI library edits a spec: env
 * entries replace same-named ones, device nodes replace same-path ones and get a device cgroup
 * allow rule, mounts replace same-destination ones (then all mounts are ordered parents first),
 * hooks are appended, additional GIDs added once (0 ignored). Pure: returns a new spec.
 */
import * as path from 'node:path';
import type { OciHook, OciHooks, OciMount, OciSpec } from '../spec/oci-types';
import type { CdiEdits } from './types';

/** `spec` with `edits` applied. */
export function applyCdiEdits(input: OciSpec, edits: CdiEdits): OciSpec {
  const spec = structuredClone(input);
  for (const entry of edits.env) {
    const key = entry.slice(0, entry.indexOf('='));
    const at = spec.process.env.findIndex((e) => e.slice(0, e.indexOf('=')) === key);
    if (at >= 0) spec.process.env[at] = entry;
    else spec.process.env.push(entry);
  }

  const user = spec.process.user;
  for (const n of edits.deviceNodes) {
    const devices = (spec.linux.devices ?? []).filter((d) => d.path !== n.path);
    devices.push({
      type: n.type,
      path: n.path,
      major: n.major,
      minor: n.minor,
      ...(n.fileMode !== undefined ? { fileMode: n.fileMode } : {}),
      // As the CDI library: an unset owner is the container's user when that is not root.
      ...(n.uid !== undefined ? { uid: n.uid } : user.uid > 0 ? { uid: user.uid } : {}),
      ...(n.gid !== undefined ? { gid: n.gid } : user.gid > 0 ? { gid: user.gid } : {}),
    });
    spec.linux.devices = devices;
    if (n.type === 'b' || n.type === 'c') {
      spec.linux.resources ??= {};
      spec.linux.resources.devices = [...(spec.linux.resources.devices ?? []), { allow: true, type: n.type, major: n.major, minor: n.minor, access: n.permissions }];
    }
  }

  if (edits.mounts.length > 0) {
    const added: OciMount[] = edits.mounts.map((m) => {
      const options = m.options ? [...m.options] : [];
      const bind = options.includes('bind') || options.includes('rbind');
      return { destination: m.containerPath, type: m.type ?? (bind ? 'bind' : ''), source: m.hostPath, options };
    });
    const replaced = new Set(added.map((m) => m.destination));
    const depth = (m: OciMount) => path.posix.normalize(m.destination).split('/').filter(Boolean).length;
    // Array.prototype.sort is stable: equal depths keep their order.
    spec.mounts = [...spec.mounts.filter((m) => !replaced.has(m.destination)), ...added].sort((a, b) => depth(a) - depth(b));
  }

  if (edits.hooks.length > 0) {
    const hooks: OciHooks = spec.hooks ?? {};
    for (const h of edits.hooks) {
      const hook: OciHook = { path: h.path, ...(h.args ? { args: [...h.args] } : {}), ...(h.env ? { env: [...h.env] } : {}), ...(h.timeout !== undefined ? { timeout: h.timeout } : {}) };
      hooks[h.hookName] = [...(hooks[h.hookName] ?? []), hook];
    }
    spec.hooks = hooks;
  }

  const gids = user.additionalGids ?? [];
  for (const g of edits.additionalGids) if (g !== 0 && !gids.includes(g)) gids.push(g);
  if (gids.length > 0) user.additionalGids = gids;

  if (edits.intelRdt) spec.linux.intelRdt = { ...edits.intelRdt };
  return spec;
}
