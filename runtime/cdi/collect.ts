/**
 * Turns the resolved CDI devices into one CdiEdits: each spec's own containerEdits once (before
 * its first device's), then each device's, with device nodes completed from the host (type and
 * numbers from stat when the spec leaves them out, as the CDI library does).
 */
import { FailedPreconditionError } from '../../common/errors';
import type { CdiContainerEdits, CdiDevice, CdiDeviceNode, CdiEdits, CdiRequest, CdiResolvedNode, CdiSpec } from './types';

/** A device found in a spec file. */
export interface IndexedDevice {
  spec: CdiSpec;
  device: CdiDevice;
  file: string;
}

/** What the host says about a device node path (undefined: it does not exist). */
export type NodeStat = (hostPath: string) => Promise<{ type: 'b' | 'c' | 'p'; major: number; minor: number; fileMode: number } | undefined>;

/** Merges the edits of `devices` (in order) into one CdiEdits. */
export async function collectEdits(devices: ReadonlyArray<IndexedDevice & { request: CdiRequest }>, stat: NodeStat): Promise<CdiEdits> {
  const out: CdiEdits = { devices: [], env: [], deviceNodes: [], mounts: [], hooks: [], additionalGids: [] };
  const specsDone = new Set<CdiSpec>();
  for (const d of devices) {
    const qualified = `${d.spec.kind}=${d.device.name}`;
    out.devices.push(qualified);
    const where = `${d.request.field}: CDI device ${JSON.stringify(qualified)} (${d.file})`;
    if (!specsDone.has(d.spec)) {
      specsDone.add(d.spec);
      if (d.spec.containerEdits) await append(out, d.spec.containerEdits, where, stat);
    }
    await append(out, d.device.containerEdits, where, stat);
  }
  return out;
}

async function append(out: CdiEdits, e: CdiContainerEdits, where: string, stat: NodeStat): Promise<void> {
  out.env.push(...(e.env ?? []));
  for (const n of e.deviceNodes ?? []) out.deviceNodes.push(await completeNode(n, where, stat));
  out.mounts.push(...(e.mounts ?? []).map((m) => ({ ...m, ...(m.options ? { options: [...m.options] } : {}) })));
  out.hooks.push(...(e.hooks ?? []).map((h) => ({ ...h })));
  out.additionalGids.push(...(e.additionalGids ?? []));
  if (e.intelRdt) out.intelRdt = { ...e.intelRdt };
}

/** A node with every number known: the spec's values, the rest from the host node. */
async function completeNode(n: CdiDeviceNode, where: string, stat: NodeStat): Promise<CdiResolvedNode> {
  const hostPath = n.hostPath ?? n.path;
  const base = { path: n.path, permissions: n.permissions || 'rwm', ...(n.uid !== undefined ? { uid: n.uid } : {}), ...(n.gid !== undefined ? { gid: n.gid } : {}) };
  if (n.type && (n.type === 'p' || (n.major ?? 0) !== 0)) {
    return { ...base, type: n.type, major: n.major ?? 0, minor: n.minor ?? 0, ...(n.fileMode !== undefined ? { fileMode: n.fileMode } : {}) };
  }
  let host;
  try {
    host = await stat(hostPath);
  } catch (err) {
    throw new FailedPreconditionError(`${where}: device node ${hostPath}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (!host) throw new FailedPreconditionError(`${where}: device node ${hostPath} does not exist on the host`);
  const type = n.type ?? host.type;
  // 'u' (unbuffered) is a character device on the host.
  if (n.type && n.type !== host.type && !(n.type === 'u' && host.type === 'c')) {
    throw new FailedPreconditionError(`${where}: device node ${hostPath} is type ${host.type} on the host, the spec says ${n.type}`);
  }
  const numbers = type === 'p' ? { major: 0, minor: 0 } : (n.major ?? 0) !== 0 ? { major: n.major ?? 0, minor: n.minor ?? 0 } : { major: host.major, minor: host.minor };
  return { ...base, type, ...numbers, fileMode: n.fileMode ?? host.fileMode };
}
