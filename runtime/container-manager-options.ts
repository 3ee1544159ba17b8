/** What the container manager is built from: directories, lookups of the other layers, the runtimes and host facts. */
import type { Logger } from '../common/logger';
import type { AttachLockWarmer } from './cgroup-attach-primer';
import type { ContainerMonitorLauncher } from './conmon';
import type { CreateDeps } from './container-create';
import type { HandlerFeatures } from './handler-features';
import type { ImageLookup, ImageUseRegistry, RuntimeNative, SandboxLookup } from './interfaces';
import type { OciRuntimeDriver } from './oci-runtime';
import type { ContainerStepObserver } from './step-observer';
import type { RuntimeSpecDefaults } from './spec/inputs';
import type { UserNamespaceSupport } from './userns-support';

/** Options of ContainerManager.open. */
export interface ContainerManagerOptions {
  /** Persistent dir for records and bundles: `<root>/containers`. */
  containersDir: string;
  /** Volatile dir: exits/ and conmon sockets. */
  runDir: string;
  sandboxes: SandboxLookup;
  images: ImageLookup;
  /** Told which containers' image volumes use which images (RemoveImage refuses those). */
  imageUsers?: ImageUseRegistry;
  native: RuntimeNative;
  /** OCI runtime per handler name; '' maps to `defaultRuntime`. */
  runtimes: Record<string, OciRuntimeDriver>;
  defaultRuntime: string;
  monitor: ContainerMonitorLauncher;
  /** Held while a monitor launch runs, so that the runtime's cgroup.procs writes do not wait (cgroup-attach-primer.ts). */
  attachLockWarmer?: AttachLockWarmer;
  conmonPath: string;
  specDefaults: RuntimeSpecDefaults;
  /** What each handler can do on this host (absent: the host defaults for every handler). */
  handlerFeatures?: Record<string, HandlerFeatures>;
  /** What the user namespace probe found at start (verbose Status). */
  userNamespaceSupport?: UserNamespaceSupport;
  logger: Logger;
  /** Max bytes per container log before conmon truncates; unset = unlimited. */
  logSizeMax?: number;
  /** How long to wait for an exit report after SIGKILL (default 10 s). */
  killWaitMs?: number;
  /** CDI spec directories, lowest priority first (none: every CDI request is an unknown device). */
  cdiSpecDirs?: readonly string[];
  /** Told how long each CreateContainer, StartContainer and ExecSync step took. */
  stepObserver?: ContainerStepObserver;
  /** Overrides for tests. */
  createDeps?: Partial<CreateDeps>;
  /** Recover as after a crash: also sweep exit files and temp files without a record. */
  thoroughRecovery?: boolean;
}
