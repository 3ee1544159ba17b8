/**
 * PodManager: the PodSandbox lifecycle. RunPodSandbox reserves the pod's name, then
 * runs the steps of start-sandbox.ts under the pod's lock with a cleanup stack; Stop and Remove
 * are idempotent; Status and List are served from memory (docs/contributing.md, "Hot paths").
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { CleanupStack } from '../common/cleanup-stack';
import { configFingerprint } from '../common/config-fingerprint';
import { BerthError, describeError, FailedPreconditionError, NotFoundError } from '../common/errors';
import { KeyedMutex } from '../common/keyed-mutex';
import { KeyedReservations } from '../common/keyed-reservations';
import { Logger } from '../common/logger';
import {
  noContainersHook,
  PodContainersHook,
  PodNativeOps,
  PodNetwork,
  PodStartObserver,
  ProcessControl,
  realProcessControl,
} from './dependencies';
import { filterSandboxes, infoOf } from './list-filter';
import { unpinNamespaces } from './namespace-pins';
import { PauseWatcher } from './pause-watcher';
import { recoverSandboxes, RecoveryOptions, RecoveryReport } from './recover-sandboxes';
import { CgroupHierarchy, detectCgroupHierarchies, PodCgroups } from './pod-cgroups';
import { applyPodResources, checkPodResources, PodCgroupResources } from './pod-resources';
import { SandboxRecord, SandboxStore } from './sandbox-store';
import { DEFAULT_SHM_SIZE_BYTES, unmountShm } from './shm';
import { startSandbox, StartSandboxDeps, volatileDirOf } from './start-sandbox';
import { PodSandboxConfigInput, SandboxFilter, SandboxInfo, SandboxStatusView } from './types';
import { validatePodConfig } from './validate-config';
import { checkIdRangeFree, IdRangeHolder } from './userns';

/** How PodManager is configured; the daemon fills it from BerthConfig. */
export interface PodManagerOptions {
  /** Persistent root (pods under `<root>/pods/<id>/`). */
  root: string;
  /** Volatile root (pod files, shm, namespace pins). */
  runRoot: string;
  native: PodNativeOps;
  network: PodNetwork;
  /** Path of the pause executable (native/addon.ts pauseExecutablePath()). */
  pauseExecutable: string;
  /** Configured runtime handler names (RuntimeClass handlers). */
  runtimeHandlers: readonly string[];
  /** The handler `runtime_handler: ""` means (default 'runc'). */
  defaultRuntimeHandler?: string;
  logger: Logger;
  observer?: PodStartObserver;
  containers?: PodContainersHook;
  processes?: ProcessControl;
  /** Cgroup hierarchies (default: detected from /proc/self/mountinfo). */
  cgroupHierarchies?: CgroupHierarchy[];
  /** Parent cgroup when the config has none (default '/berth'). */
  defaultCgroupParent?: string;
  pauseUid?: number;
  pauseGid?: number;
  shmSizeBytes?: number;
  hostResolvConf?: string;
  hostHosts?: string;
  /** How long Stop waits for a killed pause to exit (default 5 s). */
  killTimeoutMs?: number;
  /** Whether `handler` supports user namespaces here (default: none does; such pods are refused). */
  userNamespaces?: (handler: string) => boolean;
}

/** The pod layer's public API. */
export class PodManager {
  private readonly locks = new KeyedMutex();
  private readonly names = new KeyedReservations('pod sandbox');
  private readonly store: SandboxStore;
  private readonly pauses: PauseWatcher;
  private readonly steps: StartSandboxDeps;
  /** Status views, each built once per record revision and shared (frozen) until the record changes. */
  private readonly views = new WeakMap<SandboxRecord, { revision: number; view: SandboxStatusView }>();
  private readonly handlers: readonly string[];
  private readonly defaultHandler: string;
  private containers: PodContainersHook;
  /** Host id ranges of pods being started (not yet in the store). */
  private readonly startingIdRanges = new Map<string, IdRangeHolder>();

  private constructor(
    private readonly opts: PodManagerOptions,
    private readonly hierarchies: readonly CgroupHierarchy[],
  ) {
    const cgroups = new PodCgroups(hierarchies);
    const processes = opts.processes ?? realProcessControl;
    this.store = new SandboxStore(path.join(opts.root, 'pods'));
    this.containers = opts.containers ?? noContainersHook;
    this.handlers = opts.runtimeHandlers;
    this.defaultHandler = opts.defaultRuntimeHandler ?? 'runc';
    this.pauses = new PauseWatcher(opts.native, processes, (id, pid) => void this.onPauseExit(id, pid), opts.killTimeoutMs ?? 5000);
    this.steps = {
      native: opts.native,
      network: opts.network,
      processes,
      store: this.store,
      cgroups,
      runRoot: opts.runRoot,
      pauseExecutable: opts.pauseExecutable,
      pauseUid: opts.pauseUid ?? 65535,
      pauseGid: opts.pauseGid ?? 65535,
      shmSizeBytes: opts.shmSizeBytes ?? DEFAULT_SHM_SIZE_BYTES,
      hostResolvConf: opts.hostResolvConf ?? '/etc/resolv.conf',
      hostHosts: opts.hostHosts ?? '/etc/hosts',
      defaultCgroupParent: opts.defaultCgroupParent ?? '/berth',
      observer: opts.observer,
      watchPause: (id, pid) => this.pauses.watch(id, pid),
      killPause: (id, pid) => this.pauses.kill(id, pid),
    };
  }

  /** Prepares the dirs and detects cgroup hierarchies. */
  static async create(opts: PodManagerOptions): Promise<PodManager> {
    await fs.mkdir(path.join(opts.root, 'pods'), { recursive: true, mode: 0o700 });
    await fs.mkdir(path.join(opts.runRoot, 'pods'), { recursive: true, mode: 0o700 });
    const hierarchies = opts.cgroupHierarchies ?? (await detectCgroupHierarchies());
    return new PodManager(opts, hierarchies);
  }

  /**
   * Reloads pods from disk after a berthd restart (recover-sandboxes.ts): names are claimed again,
   * live pause processes watched again, dead ones make their pod NOTREADY, interrupted creations
   * are undone, unreadable state files are reported and skipped; `thorough` (after a crash) also
   * sweeps leftovers that have no record. Call once, before serving.
   */
  async recover(options: RecoveryOptions = {}): Promise<RecoveryReport> {
    return recoverSandboxes(
      {
        store: this.store,
        native: this.opts.native,
        network: this.opts.network,
        processes: this.steps.processes,
        cgroups: this.steps.cgroups,
        cgroupMountPoints: this.steps.cgroups.mountPoints(),
        runRoot: this.opts.runRoot,
        logger: this.opts.logger,
      },
      async (record, pauseAlive) => {
        const id = record.info.id;
        this.names.claim(record.reservedName, id, configFingerprint({ config: record.info.config, handler: record.info.runtimeHandler }));
        let alive = pauseAlive;
        if (alive) {
          try {
            this.pauses.watch(id, record.runtime.pausePid!);
          } catch {
            alive = false; // died between the check and the watch
          }
        }
        if (!alive && !record.runtime.pauseExitedAt) {
          await this.store.update(id, (d) => {
            d.phase = 'notready';
            d.runtime.pauseExitedAt = new Date().toISOString();
          });
        }
      },
      options,
    );
  }

  /** Plugs in the container layer (ContainerManager.stopAllInPod/removeAllInPod). */
  setContainersHook(hook: PodContainersHook): void {
    this.containers = hook;
  }

  /** The configured runtime handler names. */
  runtimeHandlers(): readonly string[] {
    return this.handlers;
  }

  /**
   * RunPodSandbox: validates, reserves `k8s_<name>_<namespace>_<uid>_<attempt>` and builds the
   * sandbox; a retry with the same metadata returns the same id (waiting if still in flight).
   * The caller's deadline is deliberately not honoured mid-way: finishing lets the retry find it.
   */
  async runPodSandbox(config: PodSandboxConfigInput, runtimeHandler: string | null | undefined): Promise<string> {
    const cfg = validatePodConfig(config, runtimeHandler, {
      handlers: this.handlers,
      defaultHandler: this.defaultHandler,
      userNamespaces: this.opts.userNamespaces,
    });
    const newId = randomBytes(32).toString('hex');
    const log = this.opts.logger.child({ pod: newId });
    // Checked and claimed without an await in between: two concurrent requests cannot both pass.
    if (cfg.userNamespace) {
      checkIdRangeFree(cfg.userNamespace, cfg.reservedName, [
        ...this.store.all().map((r) => ({ id: r.info.id, reservedName: r.reservedName, userNamespace: r.info.userNamespace })),
        ...this.startingIdRanges.values(),
      ]);
      this.startingIdRanges.set(newId, { id: newId, reservedName: cfg.reservedName, userNamespace: cfg.userNamespace });
    }
    try {
      const { id } = await this.names.reserveOrJoin(
        cfg.reservedName,
        newId,
        () => this.locks.run(newId, () => CleanupStack.run((stack) => startSandbox(this.steps, newId, cfg, config, stack, log)).then(() => undefined)),
        configFingerprint({ config, handler: cfg.runtimeHandler }),
      );
      return id;
    } finally {
      this.startingIdRanges.delete(newId);
    }
  }

  /**
   * StopPodSandbox: stops the pod's containers, kills pause, CNI DEL, unmounts shm; NOTREADY.
   * Idempotent. An unknown id succeeds too: api.proto says Stop "must not return an error if all
   * relevant resources have already been reclaimed", and cri-o answers success (containerd says
   * NotFound, which kubelet then has to special-case).
   */
  async stopPodSandbox(idOrPrefix: string): Promise<void> {
    const id = this.store.resolve(idOrPrefix);
    if (!id) return;
    await this.locks.run(id, () => this.stopLocked(id)).catch((err) => {
      throw new BerthError(`stop pod sandbox ${id}`, { cause: err }); // kind comes from the cause
    });
  }

  /** RemovePodSandbox: removes containers, stops, unpins, deletes cgroup, dirs, state; frees the name. Idempotent. */
  async removePodSandbox(idOrPrefix: string): Promise<void> {
    const id = this.store.resolve(idOrPrefix);
    if (!id) return;
    await this.locks.run(id, async () => {
      const record = this.store.get(id);
      if (!record) return;
      await this.removeLocked(id, record);
    }).catch((err) => {
      throw new BerthError(`remove pod sandbox ${id}`, { cause: err }); // kind comes from the cause
    });
  }

  /** PodSandboxStatus: NotFoundError for an unknown id. The view is shared (frozen) until the pod's record changes. */
  podSandboxStatus(idOrPrefix: string): SandboxStatusView {
    const record = this.visible(idOrPrefix);
    if (!record) throw new NotFoundError(`pod sandbox ${idOrPrefix} not found`);
    return this.viewOf(record);
  }

  /** The shared status view of `record` at its current revision (built once per revision, frozen). */
  private viewOf(record: SandboxRecord): SandboxStatusView {
    const revision = this.store.revisionOf(record.info.id);
    const hit = this.views.get(record);
    if (hit && hit.revision === revision) return hit.view;
    const view = Object.freeze(statusViewOf(record));
    this.views.set(record, { revision, view });
    return view;
  }

  /**
   * UpdatePodSandboxResources: writes the pod-level limits into the pod's cgroup_parent (the
   * cgroup enclosing pause and every container; see pod-resources.ts). A pod that is not ready
   * is a no-op success, as containerd answers (it looks the sandbox up and never checks its
   * state); an unknown id is NotFound. A pod created without cgroup_parent, or with `/` or berth's
   * default parent, has no cgroup of its own (its containers share it with other pods):
   * FailedPrecondition naming the field, rather than limiting all of them.
   */
  async updatePodSandboxResources(idOrPrefix: string, resources: PodCgroupResources): Promise<'applied' | 'not-ready'> {
    checkPodResources(resources);
    const found = this.visible(idOrPrefix);
    if (!found) throw new NotFoundError(`pod sandbox ${idOrPrefix} not found`);
    const id = found.info.id;
    return this.locks.run(id, async () => {
      const record = this.store.get(id);
      if (!record) throw new NotFoundError(`pod sandbox ${idOrPrefix} not found`);
      if (record.phase !== 'ready') return 'not-ready' as const;
      // The root or berth's default parent is shared with other pods: limiting it would limit them.
      const parent = record.info.config.linux?.cgroupParent ?? '';
      const shared = parent.replace(/\/+$/, '') === '' || record.info.cgroupParent === this.steps.defaultCgroupParent.replace(/\/+$/, '');
      if (shared) {
        throw new FailedPreconditionError(
          `pod sandbox ${id}: config.linux.cgroup_parent is ${parent === '' ? 'empty' : JSON.stringify(parent)}, so the pod has no cgroup of its own to limit (${record.info.cgroupParent} is shared with other pods)`,
        );
      }
      try {
        await applyPodResources(this.hierarchies, record.info.cgroupParent, resources);
      } catch (err) {
        throw new BerthError(`update resources of pod sandbox ${id}`, { cause: err });
      }
      this.opts.logger.info('pod sandbox resources updated', { pod: id, cgroup: record.info.cgroupParent });
      return 'applied' as const;
    });
  }

  /** ListPodSandbox, from memory: the same shared, frozen views as podSandboxStatus (a new state is a new view). */
  listPodSandboxes(filter?: SandboxFilter): SandboxInfo[] {
    return filterSandboxes(this.store.all(), filter).map((r) => this.viewOf(r));
  }

  /** For the container layer: the sandbox with exactly this id (undefined while creating or when gone). */
  getSandbox(id: string): SandboxInfo | undefined {
    const record = this.store.get(id);
    return record && record.phase !== 'creating' ? infoOf(record) : undefined;
  }

  /** Stops watching pause processes (daemon shutdown; pods keep running). */
  close(): void {
    this.pauses.close();
  }

  private visible(idOrPrefix: string): SandboxRecord | undefined {
    const id = this.store.resolve(idOrPrefix);
    const record = id ? this.store.get(id) : undefined;
    return record && record.phase !== 'creating' ? record : undefined;
  }

  /** The body of Remove; the caller holds the pod's lock. */
  private async removeLocked(id: string, record: SandboxRecord): Promise<void> {
    await this.stopLocked(id);
    await this.containers.removeAll(id);
    const current = this.store.get(id) ?? record;
    await unpinNamespaces(this.opts.native, current.info.namespacePaths);
    await this.steps.cgroups.remove(current.runtime.cgroupDirs);
    await fs.rm(volatileDirOf(this.opts.runRoot, id), { recursive: true, force: true });
    this.pauses.forget(id);
    await this.store.delete(id);
    this.names.release(current.reservedName, id);
    this.opts.logger.info('pod sandbox removed', { pod: id });
  }

  /** The body of Stop; the caller holds the pod's lock. Each step is skipped once done. */
  private async stopLocked(id: string): Promise<void> {
    const record = this.store.get(id);
    if (!record || record.phase === 'creating') return;
    const log = this.opts.logger.child({ pod: id });
    await this.containers.stopAll(id);
    const rt = record.runtime;
    if (rt.pausePid !== undefined && !rt.pauseExitedAt) await this.pauses.kill(id, rt.pausePid, rt.pauseStartTime);
    const netnsPath = record.info.namespacePaths.net;
    if (rt.networkAttached && netnsPath) {
      const { name, namespace, uid } = record.info;
      await this.opts.network.tearDownPod({ id, name, namespace, uid, netnsPath });
    }
    if (rt.shmMounted && record.info.shmPath) await unmountShm(this.opts.native, record.info.shmPath);
    if (record.phase === 'ready' || rt.networkAttached || rt.shmMounted || !rt.pauseExitedAt) {
      await this.store.update(id, (d) => {
        d.phase = 'notready';
        d.runtime.networkAttached = false;
        d.runtime.shmMounted = false;
        d.runtime.pauseExitedAt ??= new Date().toISOString();
      });
      log.info('pod sandbox stopped');
    }
  }

  /** pause died (or was killed): the pod is NOTREADY from now on. */
  private async onPauseExit(id: string, pid: number): Promise<void> {
    try {
      await this.locks.run(id, async () => {
        const record = this.store.get(id);
        if (!record || record.runtime.pausePid !== pid || record.runtime.pauseExitedAt) return;
        await this.store.update(id, (d) => {
          d.phase = d.phase === 'creating' ? 'creating' : 'notready';
          d.runtime.pauseExitedAt = new Date().toISOString();
        });
        this.opts.logger.warn('pod sandbox pause exited; pod is NOTREADY', { pod: id, pid });
      });
    } catch (err) {
      this.opts.logger.error('record pause exit', { pod: id, error: describeError(err) });
    }
  }
}

/** The status view of a visible record (its nested info objects are the record's own). */
function statusViewOf(record: SandboxRecord): SandboxStatusView {
  return {
    ...infoOf(record),
    ips: [...record.runtime.ips],
    verbose: {
      pausePid: record.runtime.pausePid,
      netnsPath: record.info.namespacePaths.net,
      cniResult: record.runtime.cniResult,
      stepTimingsMs: { ...record.runtime.stepTimingsMs },
      runtimeHandler: record.info.runtimeHandler,
      cgroupPaths: [...record.runtime.cgroupDirs],
      ...(record.runtime.pauseExitedAt ? { pauseExitedAt: record.runtime.pauseExitedAt } : {}),
    },
  };
}
