/**
 * The pure OCI spec builder (docs/contributing.md, "The pure spec builder"): CRI container config + pod data + image config +
 * resolved user + host defaults → config.json. No I/O; every host fact arrives in the input.
 */
import { InvalidArgumentError } from '../../common/errors';
import { appArmorProfile } from './apparmor';
import { applyCdiEdits } from '../cdi/apply';
import { capabilityList, ociCapabilities } from './capabilities';
import { deviceCgroupRules, ociDevices } from './devices';
import type { SpecBuildInput } from './inputs';
import { assembleMounts, configMount, defaultMounts, rootfsPropagation, sandboxMounts } from './mounts';
import { checkUserMapped, containerIdMappings, containerNamespaces } from './namespaces';
import type { OciSpec } from './oci-types';
import { clampOomScoreAdj, mergeArgs, mergeEnv, processUser, rlimits, workingDir } from './process';
import { containerCgroupsPath, ociResources } from './resources';
import { seccompSection } from './seccomp';
import { securityPaths } from './security-paths';

/** Annotations berth puts on every container's spec (the names cri-o and containerd use). */
const ANNOTATION_CONTAINER_TYPE = 'io.kubernetes.cri.container-type';
const ANNOTATION_SANDBOX_ID = 'io.kubernetes.cri.sandbox-id';
const ANNOTATION_CONTAINER_NAME = 'io.kubernetes.cri.container-name';
const ANNOTATION_IMAGE_NAME = 'io.kubernetes.cri.image-name';

/** Builds config.json for one container; throws InvalidArgumentError naming the bad field. */
export function buildContainerSpec(input: SpecBuildInput, arch: string = process.arch): OciSpec {
  const { config, sandbox, defaults, image } = input;
  const sec = config.security;
  const privileged = sec.privileged === true;
  if (!config.name) throw new InvalidArgumentError('metadata.name is empty');

  const caps = capabilityList({
    privileged,
    add: sec.capabilities?.add ?? [],
    drop: sec.capabilities?.drop ?? [],
    defaults: defaults.defaultCapabilities,
    all: defaults.allCapabilities,
  });

  const configMounts = config.mounts.map((m) => configMount(m, defaults.recursiveReadOnlySupported));
  const mounts = assembleMounts({
    defaults: defaultMounts({ privileged, cgroupVersion: defaults.cgroupVersion }),
    sandbox: sandboxMounts(sandbox, sec.readonlyRootfs === true),
    config: configMounts,
  });

  const devices = privileged ? mergeDevices(input.hostDevices, input.devices) : input.devices;
  const resources = ociResources(config.resources, defaults);
  resources.devices = deviceCgroupRules(privileged, devices);

  checkUserMapped(input.user, sandbox);
  const paths = securityPaths({ privileged, maskedPaths: sec.maskedPaths, readonlyPaths: sec.readonlyPaths });
  const seccomp = seccompSection({
    seccomp: sec.seccomp,
    privileged,
    seccompAvailable: defaults.seccompAvailable,
    capabilities: caps,
    arch,
    localhostContent: input.localhostSeccompProfile,
  });
  const propagation = rootfsPropagation(config.mounts);

  const spec: OciSpec = {
    ociVersion: '1.0.2',
    process: containerProcess(input, caps),
    root: { path: 'rootfs', readonly: sec.readonlyRootfs === true },
    mounts,
    annotations: {
      ...config.annotations,
      [ANNOTATION_CONTAINER_TYPE]: 'container',
      [ANNOTATION_SANDBOX_ID]: sandbox.id,
      [ANNOTATION_CONTAINER_NAME]: config.name,
      [ANNOTATION_IMAGE_NAME]: image.ref,
    },
    linux: {
      namespaces: containerNamespaces({
        sandbox,
        // The CRI conversion always sets the mode (absent on the wire = POD); a direct caller that
        // leaves it out gets a pid namespace of its own, never the host's.
        pidMode: sec.pidMode ?? 'CONTAINER',
        userNamespace: sec.userNamespace,
        targetPid: input.targetPid,
        cgroupVersion: defaults.cgroupVersion,
      }),
      ...containerIdMappings(sandbox),
      devices: ociDevices(devices),
      resources,
      cgroupsPath: containerCgroupsPath(sandbox.cgroupParent, input.containerId, defaults.cgroupDriver),
      maskedPaths: paths.maskedPaths,
      readonlyPaths: paths.readonlyPaths,
      ...(propagation ? { rootfsPropagation: propagation } : {}),
      ...(seccomp ? { seccomp } : {}),
    },
  };
  return input.cdiEdits ? applyCdiEdits(spec, input.cdiEdits) : spec;
}

/** The container's init process: command, environment, user, capabilities and limits. */
function containerProcess(input: SpecBuildInput, caps: string[]): OciSpec['process'] {
  const { config, sandbox, defaults, image } = input;
  const sec = config.security;
  const privileged = sec.privileged === true;
  const apparmorProfile = appArmorProfile({ apparmor: sec.apparmor, privileged, host: defaults.apparmor });
  const oomScoreAdj = clampOomScoreAdj(config.resources?.oomScoreAdj, defaults.oomScoreAdjFloor);
  return {
    terminal: config.tty,
    user: processUser(input.user),
    args: mergeArgs(config, image.config),
    env: mergeEnv(image.config.Env ?? [], config.envs, {
      hostname: sandbox.hostname,
      home: input.user.home,
      tty: config.tty,
      defaultPath: defaults.defaultPath,
    }),
    cwd: workingDir(config.workingDir, image.config),
    capabilities: ociCapabilities(caps),
    rlimits: rlimits(defaults),
    noNewPrivileges: sec.noNewPrivs === true && !privileged,
    ...(oomScoreAdj !== undefined ? { oomScoreAdj } : {}),
    ...(apparmorProfile ? { apparmorProfile } : {}),
  };
}

/** Host devices plus the requested ones; a requested device wins on the same container path. */
function mergeDevices<T extends { containerPath: string }>(host: readonly T[], requested: readonly T[]): T[] {
  const byPath = new Map<string, T>();
  for (const d of host) byPath.set(d.containerPath, d);
  for (const d of requested) byPath.set(d.containerPath, d);
  return [...byPath.values()];
}
