/** Device nodes and the device cgroup allowlist. Pure: the host devices are stat'ed outside. */
import * as path from 'node:path';
import { InvalidArgumentError } from '../../common/errors';
import type { ResolvedDevice } from './inputs';
import type { OciDevice, OciDeviceCgroupRule } from './oci-types';

/** `linux.devices` for the container's requested devices (or all host devices when privileged). */
export function ociDevices(devices: readonly ResolvedDevice[]): OciDevice[] {
  return devices.map((d) => {
    if (!path.isAbsolute(d.containerPath)) throw new InvalidArgumentError(`device container_path ${JSON.stringify(d.containerPath)} is not absolute`);
    return { type: d.type, path: d.containerPath, major: d.major, minor: d.minor, fileMode: d.fileMode, uid: d.uid, gid: d.gid };
  });
}

/** Validates a cgroup device access string (a non-empty subset of "rwm"). */
function deviceAccess(permissions: string): string {
  const p = permissions || 'rwm';
  if (!/^[rwm]{1,3}$/.test(p) || new Set(p).size !== p.length) throw new InvalidArgumentError(`device permissions ${JSON.stringify(permissions)} are not a subset of "rwm"`);
  return p;
}

/**
 * The device cgroup rules: deny everything, then allow the requested devices (runc adds its own
 * defaults such as /dev/null on top); privileged allows everything.
 */
export function deviceCgroupRules(privileged: boolean, devices: readonly ResolvedDevice[]): OciDeviceCgroupRule[] {
  if (privileged) return [{ allow: true, access: 'rwm' }];
  return [
    { allow: false, access: 'rwm' },
    ...devices.map((d) => ({ allow: true, type: d.type, major: d.major, minor: d.minor, access: deviceAccess(d.permissions) })),
  ];
}
