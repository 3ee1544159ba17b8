/** Namespaces: join the pod's pinned user/net/ipc/uts (and pid when shared); new mount (and pid). Pure. */
import { InvalidArgumentError } from '../../common/errors';
import { hostIdOf, sameUserNamespace, UserNamespaceMappings } from '../../common/id-mappings';
import type { NamespaceMode, ResolvedUser, SandboxSpecInput } from './inputs';
import type { OciIdMapping, OciNamespace } from './oci-types';

/** linux.uidMappings/gidMappings for a container joining its pod's user namespace (runc checks them against it). */
export function containerIdMappings(sandbox: SandboxSpecInput): { uidMappings?: OciIdMapping[]; gidMappings?: OciIdMapping[] } {
  const ns = sandbox.userNamespace;
  if (!ns) return {};
  const oci = (list: UserNamespaceMappings['uids']): OciIdMapping[] => list.map((m) => ({ containerID: m.containerId, hostID: m.hostId, size: m.length }));
  return { uidMappings: oci(ns.uids), gidMappings: oci(ns.gids) };
}

/**
 * In a user namespace the container's ids must be ones the pod was given: an unmapped uid would
 * make runc fail half-way, or be read as the overflow id (nobody) by the kernel.
 */
export function checkUserMapped(user: ResolvedUser, sandbox: SandboxSpecInput): void {
  const ns = sandbox.userNamespace;
  if (!ns) return;
  const field = 'linux.security_context';
  if (hostIdOf(ns.uids, user.uid) === undefined) throw new InvalidArgumentError(`${field}.run_as_user: uid ${user.uid} is not mapped in the user namespace of pod sandbox ${sandbox.id}`);
  for (const gid of [user.gid, ...user.additionalGids]) {
    if (hostIdOf(ns.gids, gid) === undefined) throw new InvalidArgumentError(`${field}.run_as_group: gid ${gid} is not mapped in the user namespace of pod sandbox ${sandbox.id}`);
  }
}

/** The namespace list for a container of `sandbox`. */
export function containerNamespaces(opts: {
  sandbox: SandboxSpecInput;
  pidMode: NamespaceMode;
  /** The user namespace the container's request expects (userns_options); must be its pod's. */
  userNamespace?: UserNamespaceMappings;
  targetPid?: number;
  cgroupVersion: 1 | 2;
}): OciNamespace[] {
  const { namespacePaths } = opts.sandbox;
  // A container never gets a user namespace of its own nor leaves its pod's: kubelet sends the
  // pod's mappings again, and anything else would run it with ids the pod was not given.
  if (!sameUserNamespace(opts.userNamespace, opts.sandbox.userNamespace)) {
    throw new InvalidArgumentError(
      opts.sandbox.userNamespace
        ? `linux.security_context.namespace_options.userns_options: must equal the mappings of pod sandbox ${opts.sandbox.id}`
        : `linux.security_context.namespace_options.userns_options: pod sandbox ${opts.sandbox.id} has no user namespace`,
    );
  }
  const ns: OciNamespace[] = [{ type: 'mount' }];
  if (opts.sandbox.userNamespace) {
    if (!namespacePaths.user) throw new InvalidArgumentError(`pod sandbox ${opts.sandbox.id} has user namespace mappings but no pinned user namespace`);
    ns.push({ type: 'user', path: namespacePaths.user });
  }
  // An absent pinned path means the pod uses the host's namespace: no entry = inherit the host's.
  if (namespacePaths.net) ns.push({ type: 'network', path: namespacePaths.net });
  if (namespacePaths.ipc) ns.push({ type: 'ipc', path: namespacePaths.ipc });
  if (namespacePaths.uts) ns.push({ type: 'uts', path: namespacePaths.uts });
  switch (opts.pidMode) {
    case 'CONTAINER':
      ns.push({ type: 'pid' });
      break;
    case 'POD':
      // The pod's shared PID namespace (pinned by pause). A pod without one (its own pid mode
      // CONTAINER or NODE) has nothing to share: joining "nothing" would be the host's namespace.
      if (!namespacePaths.pid) {
        throw new InvalidArgumentError(
          `linux.security_context.namespace_options.pid: POD, but pod sandbox ${opts.sandbox.id} has no pid namespace of its own (its namespace_options.pid is not POD)`,
        );
      }
      ns.push({ type: 'pid', path: namespacePaths.pid });
      break;
    case 'NODE':
      break;
    case 'TARGET':
      if (opts.targetPid === undefined || opts.targetPid <= 0) {
        throw new InvalidArgumentError('pid namespace TARGET needs a running target container');
      }
      ns.push({ type: 'pid', path: `/proc/${opts.targetPid}/ns/pid` });
      break;
  }
  // On cgroup v2 a private cgroup namespace hides the host's hierarchy (containerd does the same).
  if (opts.cgroupVersion === 2) ns.push({ type: 'cgroup' });
  return ns;
}
