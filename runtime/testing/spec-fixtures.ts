/** Test fixtures for the spec builder: a minimal valid input that rows then vary. */
import { ALL_LINUX_CAPABILITIES, DEFAULT_CAPABILITIES } from '../spec/capabilities';
import type { ContainerConfigInput, SpecBuildInput } from '../spec/inputs';

/** A complete container config named `name` (image busybox:e2e, log `<name>/0.log`, nothing else set); `patch` overrides fields. */
export function containerConfigInput(name: string, patch: Partial<ContainerConfigInput> = {}): ContainerConfigInput {
  return {
    name,
    attempt: 0,
    image: 'busybox:e2e',
    command: [],
    args: [],
    workingDir: '',
    envs: [],
    mounts: [],
    devices: [],
    labels: {},
    annotations: {},
    logPath: `${name}/0.log`,
    stdin: false,
    stdinOnce: false,
    tty: false,
    security: {},
    ...patch,
  };
}

/** A complete, valid SpecBuildInput; `patch` receives a deep copy to modify. */
export function specInput(patch: (i: SpecBuildInput) => void = () => {}): SpecBuildInput {
  const input: SpecBuildInput = {
    containerId: 'c0ffee',
    config: containerConfigInput('app', { image: 'busybox:latest' }),
    sandbox: {
      id: 'pod1',
      name: 'web',
      namespace: 'default',
      uid: 'uid-1',
      hostname: 'web-host',
      namespacePaths: { net: '/run/berth/ns/net/pod1', ipc: '/run/berth/ns/ipc/pod1', uts: '/run/berth/ns/uts/pod1' },
      cgroupParent: '/kubepods/besteffort/poduid-1',
      hostnamePath: '/var/lib/berth/pods/pod1/hostname',
      hostsPath: '/var/lib/berth/pods/pod1/hosts',
      resolvConfPath: '/var/lib/berth/pods/pod1/resolv.conf',
      shmPath: '/run/berth/pods/pod1/shm',
    },
    image: { id: 'sha256:abc', ref: 'docker.io/library/busybox:latest', config: { Env: ['PATH=/usr/bin:/bin'], Cmd: ['sh'], WorkingDir: '' } },
    user: { uid: 0, gid: 0, additionalGids: [], home: '/root' },
    devices: [],
    hostDevices: [],
    defaults: {
      cgroupVersion: 1,
      cgroupDriver: 'cgroupfs',
      oomScoreAdjFloor: -1000,
      seccompAvailable: true,
      recursiveReadOnlySupported: true,
      swapAccounting: true,
      allCapabilities: [...ALL_LINUX_CAPABILITIES],
      defaultCapabilities: [...DEFAULT_CAPABILITIES],
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1048576, soft: 1048576 }],
      defaultPath: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    },
  };
  const copy = structuredClone(input);
  patch(copy);
  return copy;
}
