/**
 * One call for the daemon: detects the host facts, builds a runc/crun driver per configured
 * handler (each with its own --root under the run root), the conmon launcher, and opens the
 * ContainerManager (loading records, settling exits, reconciling with runc).
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError } from '../common/errors';
import type { Logger } from '../common/logger';
import { CgroupAttachPrimer } from './cgroup-attach-primer';
import { ConmonLauncher } from './conmon';
import { ContainerManager } from './container-manager';
import { setUpAppArmor } from './apparmor';
import { detectHandlerFeatures } from './handler-features';
import { probeIdmappedMounts } from './userns-support';
import { detectHostFacts } from './host-facts';
import type { ImageLookup, ImageUseRegistry, RuntimeNative, SandboxLookup } from './interfaces';
import { RuncDriver, type OciRuntimeDriver } from './oci-runtime';
import type { ContainerStepObserver } from './step-observer';

export interface OpenContainerManagerOptions {
  /** Persistent root (e.g. /var/lib/berth): records and bundles go to `<root>/containers`. */
  root: string;
  /** Volatile root (e.g. /run/berth): `containers/exits`, `containers/sockets`, `runtimes/<handler>`. */
  runRoot: string;
  /** OCI runtimes by handler name; `root` defaults to `<runRoot>/runtimes/<name>`. */
  runtimes: Record<string, { path: string; root?: string }>;
  defaultRuntime: string;
  conmonPath: string;
  cgroupDriver: 'cgroupfs' | 'systemd';
  sandboxes: SandboxLookup;
  images: ImageLookup;
  /** Told which images container image volumes use (RemoveImage refuses those). */
  imageUsers?: ImageUseRegistry;
  native: RuntimeNative;
  logger: Logger;
  /** Max bytes per container log file before conmon truncates it (unset: unlimited). */
  logSizeMax?: number;
  /** Recover as after a crash (daemon/recovery.ts decides from the clean-shutdown marker). */
  thoroughRecovery?: boolean;
  /** CDI spec directories, lowest priority first. */
  cdiSpecDirs?: readonly string[];
  /** Told how long each CreateContainer, StartContainer and ExecSync step took (daemon metrics and spans). */
  stepObserver?: ContainerStepObserver;
}

/** Builds and opens the ContainerManager from plain config values. */
export async function openContainerManager(o: OpenContainerManagerOptions): Promise<ContainerManager> {
  if (!o.runtimes[o.defaultRuntime]) throw new InvalidArgumentError(`default runtime ${JSON.stringify(o.defaultRuntime)} is not among the configured runtimes`);
  const drivers: Record<string, OciRuntimeDriver> = {};
  for (const [name, rt] of Object.entries(o.runtimes)) {
    const native = { execInContainer: o.native.execInContainer.bind(o.native), readSeccompFilters: o.native.readSeccompFilters.bind(o.native) };
    drivers[name] = new RuncDriver(rt.path, rt.root ?? path.join(o.runRoot, 'runtimes', name), {
      native,
      sealedCopy: (file) => o.native.sealedCopy(file),
      logFallback: (msg, fields) => o.logger.info(msg, fields),
    });
  }
  const version = await drivers[o.defaultRuntime].version();
  await fs.mkdir(path.join(o.root, 'containers'), { recursive: true, mode: 0o700 });
  const userns = await probeIdmappedMounts(o.native, path.join(o.root, 'containers'));
  const [specDefaults, handlerFeatures] = await Promise.all([
    detectHostFacts({ cgroupDriver: o.cgroupDriver, runcVersion: version }),
    detectHandlerFeatures(drivers, undefined, userns.idmappedMounts),
  ]);
  o.logger.info('user namespace support', { ...userns, handlers: Object.entries(handlerFeatures).filter(([, f]) => f.userNamespaces).map(([n]) => n) });
  // AppArmor where the host has it: berth's default profile is (re)loaded at every start.
  specDefaults.apparmor = await setUpAppArmor({ profileDir: path.join(o.runRoot, 'apparmor'), logger: o.logger });
  const { enabled, defaultProfileLoaded } = specDefaults.apparmor;
  o.logger.info('container runtime ready', { handlers: Object.keys(drivers), cgroupVersion: specDefaults.cgroupVersion, oomScoreAdjFloor: specDefaults.oomScoreAdjFloor, seccomp: specDefaults.seccompAvailable, apparmor: enabled, apparmorDefaultProfileLoaded: defaultProfileLoaded });
  return ContainerManager.open({
    containersDir: path.join(o.root, 'containers'),
    runDir: path.join(o.runRoot, 'containers'),
    sandboxes: o.sandboxes,
    images: o.images,
    imageUsers: o.imageUsers,
    native: o.native,
    runtimes: drivers,
    defaultRuntime: o.defaultRuntime,
    monitor: new ConmonLauncher(),
    attachLockWarmer: new CgroupAttachPrimer({ onOff: (reason) => o.logger.info('cgroup attach lock not kept warm during launches', { reason }) }),
    conmonPath: o.conmonPath,
    specDefaults,
    handlerFeatures,
    userNamespaceSupport: userns,
    logger: o.logger.child({ component: 'containers' }),
    logSizeMax: o.logSizeMax,
    thoroughRecovery: o.thoroughRecovery,
    cdiSpecDirs: o.cdiSpecDirs,
    stepObserver: o.stepObserver,
  });
}
