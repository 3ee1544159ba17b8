/** A ContainerManager on fakes (no root): the options, the fakes behind them and a container config, shared by the runtime, CRI and daemon tests. */
import * as path from 'node:path';
import { FakeNativeBinding } from '../../native/testing/fake-native';
import { silentLogger } from '../../common/logger';
import type { ContainerManagerOptions } from '../container-manager-options';
import type { ResolvedImage } from '../interfaces';
import type { ContainerConfigInput } from '../spec/inputs';
import { specInput } from './spec-fixtures';
import { FakeImages } from './fake-images';
import { FakeMonitor } from './fake-monitor';
import { FakeRuntime } from './fake-runtime';
import { FakeSandboxes } from './fake-sandboxes';

/** The fakes a manager runs on. */
export interface ManagerFakes {
  sandboxes: FakeSandboxes;
  images: FakeImages;
  native: FakeNativeBinding;
  runtime: FakeRuntime;
  monitor: FakeMonitor;
}

/** Fakes in `dir`: pod `pod1` logging under dir/logs, image busybox:latest (`image` overrides its fields), runc under dir/runc. */
export function managerFakes(dir: string, image: Partial<ResolvedImage> = {}): ManagerFakes {
  const sandboxes = new FakeSandboxes();
  sandboxes.add({ id: 'pod1' }, path.join(dir, 'logs'));
  const images = new FakeImages();
  images.images.set('busybox:latest', { id: 'sha256:img', repoTags: ['busybox:latest'], repoDigests: ['busybox@sha256:dig'], config: { Cmd: ['sh'] }, lowerDirs: ['/l/1'], ...image });
  return { sandboxes, images, native: new FakeNativeBinding(), runtime: new FakeRuntime(path.join(dir, 'runc'), path.join(dir, 'run', 'exits')), monitor: new FakeMonitor() };
}

/** ContainerManager.open options over `fakes` with its state in `dir`; `overrides` win. */
export function fakeManagerOptions(dir: string, fakes: ManagerFakes, overrides: Partial<ContainerManagerOptions> = {}): ContainerManagerOptions {
  return {
    containersDir: path.join(dir, 'containers'),
    runDir: path.join(dir, 'run'),
    sandboxes: fakes.sandboxes,
    images: fakes.images,
    native: fakes.native,
    runtimes: { runc: fakes.runtime },
    defaultRuntime: 'runc',
    monitor: fakes.monitor,
    conmonPath: '/fake/conmon',
    specDefaults: specInput().defaults,
    logger: silentLogger,
    killWaitMs: 300,
    ...overrides,
  };
}

/** The spec fixtures' container config running /bin/sh; `patch` overrides fields. */
export function shContainerConfig(patch: Partial<ContainerConfigInput> = {}): ContainerConfigInput {
  return { ...specInput().config, command: ['/bin/sh'], ...patch };
}
