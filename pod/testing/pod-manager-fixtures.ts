/** PodManager options on fakes under a temp dir, shared by the pod and CRI pod handler tests. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { FakeNativeBinding } from '../../native/testing/fake-native';
import * as path from 'node:path';
import { silentLogger } from '../../common/logger';
import type { ProcessControl } from '../dependencies';
import type { PodManagerOptions } from '../pod-manager';
import { FakePodNetwork } from './fake-pod-network';
import { FakeProcesses } from './fake-processes';

/**
 * Creates `dir/cg` (a cgroup v2 root) and `dir/resolv.conf` holding `resolvConf`, and returns the
 * options of a PodManager rooted in `dir` on FakeNativeBinding, FakePodNetwork and FakeProcesses with
 * handler runc; `overrides` replace any of them.
 */
export function fakePodManagerOptions(dir: string, overrides: Partial<PodManagerOptions> = {}, resolvConf = 'nameserver 192.0.2.53\n'): PodManagerOptions {
  mkdirSync(path.join(dir, 'cg'), { recursive: true });
  writeFileSync(path.join(dir, 'resolv.conf'), resolvConf);
  const native = new FakeNativeBinding({ firstPid: 4_000_000 });
  return {
    root: path.join(dir, 'root'),
    runRoot: path.join(dir, 'run'),
    native,
    network: new FakePodNetwork(),
    processes: new FakeProcesses(native),
    pauseExecutable: '/pause',
    runtimeHandlers: ['runc'],
    logger: silentLogger,
    cgroupHierarchies: [{ mountPoint: path.join(dir, 'cg'), version: 2, controllers: [] }],
    hostResolvConf: path.join(dir, 'resolv.conf'),
    hostHosts: path.join(dir, 'resolv.conf'),
    ...overrides,
  };
}

/** Process control over the pause processes a FakeNativeBinding pretends to run. */
export function recordingProcesses(native: FakeNativeBinding): ProcessControl {
  return {
    kill: (pid) => {
      if (!native.exitProcess(pid)) throw Object.assign(new Error('ESRCH'), { code: 'ESRCH' });
    },
    isAlive: (pid) => native.isAlive(pid),
    startTime: (pid) => (native.isAlive(pid) ? `t${pid}` : undefined),
  };
}
