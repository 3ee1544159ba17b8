/**
 * systemd's cgroup naming, as runc, cri-o and kubelet use it: a slice `a-b-c.slice` lives at
 * `a.slice/a-b.slice/a-b-c.slice`, a container is the scope `<prefix>-<name>.scope` inside its
 * slice, and runc's cgroupsPath form for it is `<slice>:<prefix>:<name>`.
 */
import { InvalidArgumentError } from './errors';

const SLICE_SUFFIX = '.slice';

/** The nested directories of a slice (`-.slice` is the root: none); InvalidArgument for a malformed name. */
function sliceDirs(slice: string): string[] {
  if (slice.length <= SLICE_SUFFIX.length || !slice.endsWith(SLICE_SUFFIX) || slice.includes('/')) {
    throw new InvalidArgumentError(`${JSON.stringify(slice)} is not a systemd slice name`);
  }
  const base = slice.slice(0, -SLICE_SUFFIX.length);
  if (base === '-') return [];
  const words = base.split('-');
  // systemd refuses "a--b.slice", "-a.slice" and "a-.slice": every dash separates two words.
  if (words.some((w) => w === '')) throw new InvalidArgumentError(`${JSON.stringify(slice)} is not a systemd slice name (empty dash-separated part)`);
  return words.map((_, i) => `${words.slice(0, i + 1).join('-')}${SLICE_SUFFIX}`);
}

/** A slice's cgroup path relative to the hierarchy root: `a-b.slice` → `/a.slice/a-b.slice`. */
export function expandSlice(slice: string): string {
  return `/${sliceDirs(slice).join('/')}`;
}

/** The transient scope unit of a container: `<prefix>-<name>.scope` (`<name>.scope` without a prefix). */
export function scopeName(prefix: string, name: string): string {
  return `${prefix ? `${prefix}-` : ''}${name}.scope`;
}

/** runc's systemd cgroupsPath `slice:prefix:name` as a cgroup path: `/a.slice/a-b.slice/prefix-name.scope`. */
export function systemdCgroupPath(cgroupsPath: string): string {
  const parts = cgroupsPath.split(':');
  if (parts.length !== 3) throw new InvalidArgumentError(`${JSON.stringify(cgroupsPath)} is not a systemd cgroupsPath (slice:prefix:name)`);
  const [slice, prefix, name] = parts;
  if (!name) throw new InvalidArgumentError(`${JSON.stringify(cgroupsPath)} has no scope name`);
  return `/${[...sliceDirs(slice || '-.slice'), scopeName(prefix, name)].join('/')}`;
}

/** The slice kubelet's systemd driver gives a pod: `kubepods[-<qos>]-pod<uid with _ for ->.slice`. */
export function podSliceName(qos: 'guaranteed' | 'burstable' | 'besteffort', podUid: string): string {
  const uid = podUid.replace(/-/g, '_');
  return qos === 'guaranteed' ? `kubepods-pod${uid}.slice` : `kubepods-${qos}-pod${uid}.slice`;
}
