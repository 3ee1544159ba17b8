/** Mounts: the OCI defaults (/proc, /dev, /sys, …), the pod's files, and the config's binds. Pure. */
import * as path from 'node:path';
import { InvalidArgumentError } from '../../common/errors';
import type { ContainerMountInput, MountPropagation, SandboxSpecInput } from './inputs';
import type { OciMount } from './oci-types';

/** The filesystems every container gets (the runc/containerd default set). */
export function defaultMounts(opts: { privileged: boolean; cgroupVersion: 1 | 2 }): OciMount[] {
  const sysOptions = ['nosuid', 'noexec', 'nodev', opts.privileged ? 'rw' : 'ro'];
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: sysOptions },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: [...sysOptions, 'relatime'] },
  ];
}

/** rprivate / rslave / rshared for a CRI propagation. */
function propagationOption(p: MountPropagation): 'rprivate' | 'rslave' | 'rshared' {
  switch (p) {
    case 'private':
      return 'rprivate';
    case 'host-to-container':
      return 'rslave';
    case 'bidirectional':
      return 'rshared';
  }
}

/** A config mount as an OCI bind mount; relative or `..`-bearing container paths are refused. */
export function bindMount(m: ContainerMountInput, rroSupported: boolean): OciMount {
  if (!path.isAbsolute(m.containerPath)) throw new InvalidArgumentError(`mount container_path ${JSON.stringify(m.containerPath)} is not absolute`);
  if (m.containerPath.split('/').includes('..')) throw new InvalidArgumentError(`mount container_path ${JSON.stringify(m.containerPath)} has ".." segments`);
  if (!path.isAbsolute(m.hostPath)) throw new InvalidArgumentError(`mount host_path ${JSON.stringify(m.hostPath)} is not absolute`);
  // host-facts resolves sources to real paths first; a ".." reaching the builder is a caller bug.
  if (m.hostPath.split('/').includes('..')) throw new InvalidArgumentError(`mount host_path ${JSON.stringify(m.hostPath)} has ".." segments`);
  const options = ['rbind', propagationOption(m.propagation)];
  if (m.recursiveReadOnly) {
    if (!m.readonly) throw new InvalidArgumentError(`mount ${m.containerPath}: recursive read-only needs readonly`);
    if (m.propagation !== 'private') throw new InvalidArgumentError(`mount ${m.containerPath}: recursive read-only needs private propagation`);
    if (!rroSupported) throw new InvalidArgumentError(`mount ${m.containerPath}: recursive read-only is not supported by this host or runtime`);
    options.push('rro');
  } else if (m.readonly) {
    options.push('ro');
  }
  return { destination: path.posix.normalize(m.containerPath), type: 'bind', source: m.hostPath, options };
}

/**
 * An image volume's bind: always private and read-only, and never a place to run or find setuid
 * programs or device nodes, whatever the request says (the source is berth's own overlay of the image).
 */
function imageVolumeMount(m: ContainerMountInput, rroSupported: boolean): OciMount {
  const bind = bindMount({ ...m, readonly: true, propagation: 'private' }, rroSupported);
  return { ...bind, options: [...bind.options, 'noexec', 'nosuid', 'nodev'] };
}

/** A config mount as its OCI mount: an image volume's bind or a plain bind. */
export function configMount(m: ContainerMountInput, rroSupported: boolean): OciMount {
  return m.image !== undefined ? imageVolumeMount(m, rroSupported) : bindMount(m, rroSupported);
}

/** The pod's hostname, hosts, resolv.conf and /dev/shm, bound into the container. */
export function sandboxMounts(sandbox: SandboxSpecInput, readonlyRootfs: boolean): OciMount[] {
  const fileOptions = ['rbind', 'rprivate', ...(readonlyRootfs ? ['ro'] : [])];
  const mounts: OciMount[] = [];
  if (sandbox.hostnamePath) mounts.push({ destination: '/etc/hostname', type: 'bind', source: sandbox.hostnamePath, options: fileOptions });
  if (sandbox.hostsPath) mounts.push({ destination: '/etc/hosts', type: 'bind', source: sandbox.hostsPath, options: fileOptions });
  if (sandbox.resolvConfPath) mounts.push({ destination: '/etc/resolv.conf', type: 'bind', source: sandbox.resolvConfPath, options: fileOptions });
  if (sandbox.shmPath) {
    mounts.push({ destination: '/dev/shm', type: 'bind', source: sandbox.shmPath, options: ['rbind', 'rprivate'] });
  } else {
    mounts.push({ destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] });
  }
  return mounts;
}

/**
 * All mounts in mount order: defaults, then pod files, then config binds sorted by depth (a parent
 * before its children); a later mount on the same destination replaces an earlier one.
 */
export function assembleMounts(groups: { defaults: OciMount[]; sandbox: OciMount[]; config: OciMount[] }): OciMount[] {
  const configDests = new Set(groups.config.map((m) => m.destination));
  // A user mount on /dev or /sys would hide the runtime's; containerd drops the default then.
  const base = [...groups.defaults, ...groups.sandbox].filter((m) => !configDests.has(m.destination));
  const depth = (p: string) => p.split('/').filter(Boolean).length;
  const config = [...groups.config].sort((a, b) => depth(a.destination) - depth(b.destination));
  return [...base, ...config];
}

/** The rootfs propagation the binds need: rshared if any is bidirectional, rslave if any is host-to-container. */
export function rootfsPropagation(mounts: readonly ContainerMountInput[]): 'rshared' | 'rslave' | undefined {
  if (mounts.some((m) => m.propagation === 'bidirectional')) return 'rshared';
  if (mounts.some((m) => m.propagation === 'host-to-container')) return 'rslave';
  return undefined;
}
