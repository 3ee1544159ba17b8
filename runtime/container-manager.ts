/**
 * Containers: create/start/stop/remove/status/list, exec, resource updates, log reopen, and the
 * pod hooks (stopAllInPod/removeAllInPod). Records live in ContainerStore; exits arrive from
 * conmon's exit files through ExitWatcher.
 *
 * Create prepares everything (overlay rootfs, spec, bundle, record) and then launches conmon +
 * `runc create` in the background; Start waits for that launch, then runs `runc start`. This keeps
 * CreateContainer cheap the way containerd's is (it creates the task only at Start) while still
 * overlapping the runtime's create with kubelet's gap between the two calls. A failed launch is
 * recorded on the container and reported by Start.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { CleanupStack } from '../common/cleanup-stack';
import { configFingerprint } from '../common/config-fingerprint';
import { deepFreeze } from '../common/deep-freeze';
import type { ContainerManagerOptions } from './container-manager-options';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError, RuntimeError, describeError } from '../common/errors';
import { featuresByHandler, type HandlerFeatures } from './handler-features';
import { nowNs, stopSignalName, wrapError } from './runtime-helpers';
import type { Logger } from '../common/logger';
import { conmonLaunchFor } from './conmon';
import { containerReservedName, newContainerId, prepareContainer, readSeccompProfile, validateCreate, type CreateDeps } from './container-create';
import { ContainerEventHub, type ContainerEventListener, type ContainerEventType } from './container-events';
import type { ContainerRecord } from './container-record';
import { recoverContainers, type ContainerRecoveryReport } from './container-recovery';
import { statsReaderFor, statsTargetOf, type ContainerStatsReader, type ContainerStatsView, type StatsTarget } from './container-stats';
import { ContainerStore } from './container-store';
import type { PodStatsInput, PodStatsView } from './pod-stats';
import { exitReason, matchesFilter, podOnlyFilter, PodViewLists, StatusViewCache, type ContainerFilter, type ContainerStatusView } from './container-view';
import { runAttachSession, runExecSession, type AttachIo, type ExecSessionIo } from './exec-session';
import { ExitWaiters, ExitWatcher, readExitFile, type ContainerExit } from './exit-watcher';
import { CdiRegistry } from './cdi/registry';
import { listHostDevices, resolveDevices } from './host-facts';
import { ImageAccounts } from './image-accounts';
import { releaseImageVolumes } from './image-volumes';
import type { UserNamespaceSupport } from './userns-support';
import type { OciRuntimeDriver } from './oci-runtime';
import type { ContainerConfigInput, LinuxResourcesInput, RuntimeSpecDefaults } from './spec/inputs';
import { applyResources, execInContainer, readSpec, reopenLog, type ExecSyncResult } from './container-ops';
import { timeStep } from './step-observer';
import { ContainerRemovals, tearDownContainer, type RemovalDeps } from './container-remove';

/** How long to wait for a SIGKILLed container to be reported gone. */
const KILL_WAIT_MS = 10_000;

export type { ContainerManagerOptions } from './container-manager-options';

export class ContainerManager {
  private readonly store: ContainerStore;
  private readonly events = new ContainerEventHub();
  private readonly exitDir: string;
  private readonly socketDir: string;
  private readonly exitWatcher: ExitWatcher;
  /** Removed containers torn down and deleted after RemoveContainer answered (container-remove.ts). */
  private readonly removals: ContainerRemovals;
  /** Background conmon launches by container id. */
  private readonly launches = new Map<string, Promise<number>>();
  /**
   * Pids from finished launches not yet written to the record: Start persists them together with
   * the running state (one fsync less on the Start path); recovery re-reads them from runc.
   */
  private readonly launchedPids = new Map<string, number>();
  private recovery: ContainerRecoveryReport | undefined;
  private readonly exitWaiters = new ExitWaiters();
  private readonly views = new StatusViewCache((id) => this.store.revisionOf(id));
  private readonly podLists = new PodViewLists();
  private readonly createDeps: CreateDeps;
  private readonly imageAccounts = new ImageAccounts();
  private readonly statsReader: ContainerStatsReader;
  private closed = false;
  private featuresOfHandlers: Readonly<Record<string, HandlerFeatures>> | undefined;

  private constructor(private readonly opts: ContainerManagerOptions) {
    this.store = new ContainerStore(opts.containersDir, opts.logger);
    this.exitDir = path.join(opts.runDir, 'exits');
    this.removals = new ContainerRemovals(opts.containersDir, this.removalDeps());
    this.socketDir = path.join(opts.runDir, 'sockets');
    this.exitWatcher = new ExitWatcher(this.exitDir, (e) => this.onExit(e), opts.logger);
    this.statsReader = statsReaderFor(this, opts.specDefaults.cgroupVersion, opts.native);
    const cdi = new CdiRegistry(opts.cdiSpecDirs ?? [], opts.logger.child({ component: 'cdi' }));
    this.createDeps = {
      images: opts.images,
      imageUsers: opts.imageUsers,
      native: opts.native,
      defaults: opts.specDefaults,
      handlerFeatures: opts.handlerFeatures,
      resolveDevice: resolveDevices,
      hostDevices: () => listHostDevices(),
      resolveCdi: (requests) => cdi.resolve(requests),
      loadSeccompProfile: readSeccompProfile,
      targetPid: (id) => {
        const rec = this.store.get(id);
        return rec && rec.state === 'running' ? rec.pid : undefined;
      },
      nowNs,
      resolveUser: (imageId, rootfs, req) => this.imageAccounts.resolve(imageId, rootfs, req),
      stepObserver: opts.stepObserver,
      ...opts.createDeps,
    };
  }

  /** Loads the records, reconciles them with exit files and the runtime (container-recovery.ts), and starts watching exits. */
  static async open(opts: ContainerManagerOptions): Promise<ContainerManager> {
    const m = new ContainerManager(opts);
    await fs.mkdir(m.socketDir, { recursive: true });
    m.recovery = await recoverContainers({
      store: m.store,
      startExitWatcher: () => m.exitWatcher.start(),
      runtimeFor: (h) => m.runtimeFor(h),
      native: opts.native,
      logger: opts.logger,
      nowNs,
      exitDir: m.exitDir,
      thorough: opts.thoroughRecovery ?? false,
      imageUsers: opts.imageUsers,
    });
    await m.removals.sweep();
    return m;
  }

  /** Resolves once removed containers are torn down and their directories deleted (they go after RemoveContainer answered). */
  removalsSettled(): Promise<void> {
    return this.removals.settled();
  }

  /** Each handler's features ('' is the default handler), for Status: made once (the options do not change), then shared. */
  handlerFeatures(): Readonly<Record<string, HandlerFeatures>> {
    const o = this.opts;
    const fallback = { recursiveReadOnlyMounts: o.specDefaults.recursiveReadOnlySupported, userNamespaces: false };
    return (this.featuresOfHandlers ??= deepFreeze(featuresByHandler(Object.keys(o.runtimes), o.defaultRuntime, o.handlerFeatures ?? {}, fallback)));
  }

  /** The idmapped mount probe's result (undefined: not probed); for verbose Status. */
  userNamespaceSupport(): UserNamespaceSupport | undefined {
    return this.opts.userNamespaceSupport;
  }

  /** The host's AppArmor as found at start (undefined: not looked at); for Status. */
  appArmorStatus(): RuntimeSpecDefaults['apparmor'] {
    return this.opts.specDefaults.apparmor;
  }

  /** What recovery found when this manager opened. */
  recoveryReport(): ContainerRecoveryReport | undefined {
    return this.recovery;
  }

  /** Stops watching (containers keep running); exit reports still in flight are dropped. */
  close(): void {
    this.closed = true;
    this.exitWatcher.close();
    this.removals.close();
    for (const runtime of Object.values(this.opts.runtimes)) runtime.dispose();
  }

  /** Subscribes to container events. */
  onEvent(listener: ContainerEventListener): () => void {
    return this.events.subscribe(listener);
  }

  private runtimeFor(handler: string): OciRuntimeDriver {
    const name = handler || this.opts.defaultRuntime;
    const rt = this.opts.runtimes[name];
    if (!rt) throw new InvalidArgumentError(`runtime handler ${JSON.stringify(handler)} is not configured`);
    return rt;
  }

  private emit(type: ContainerEventType, rec: ContainerRecord): void {
    this.events.emit({ type, containerId: rec.id, podSandboxId: rec.podSandboxId, createdAtNs: nowNs() });
  }

  private require(idOrPrefix: string): ContainerRecord {
    if (!idOrPrefix) throw new InvalidArgumentError('container_id is empty');
    const id = this.store.resolveId(idOrPrefix);
    const rec = id ? this.store.get(id) : undefined;
    if (!rec) throw new NotFoundError(`container ${idOrPrefix} not found`);
    return rec;
  }

  /** CreateContainer: returns the new container's id (the same id for a retry of the same request: common/keyed-reservations.ts). */
  async createContainer(podSandboxId: string, config: ContainerConfigInput): Promise<string> {
    const sandbox = validateCreate(config, this.opts.sandboxes.getSandbox(podSandboxId), podSandboxId);
    const runtime = this.runtimeFor(sandbox.runtimeHandler);
    const reservedName = containerReservedName(config, sandbox);
    const fingerprint = configFingerprint({ podSandboxId: sandbox.id, config });
    const newId = newContainerId();
    const create = async (): Promise<void> => {
      const log = this.opts.logger.child({ container: newId, pod: sandbox.id });
      const record = await CleanupStack.run(async (stack) => {
        const { record } = await prepareContainer(this.createDeps, stack, { id: newId, reservedName, sandbox, config, containerDir: this.store.containerDir(newId) });
        record.configFingerprint = fingerprint;
        await timeStep(this.opts.stepObserver, 'create', 'record write', () => this.store.putNew(record));
        return record;
      }).catch((err: unknown) => {
        throw wrapError(err, `create container ${config.name} in pod ${podSandboxId}`);
      });
      this.emit('created', record);
      // On the next turn, so that this reply is on its way before conmon is spawned.
      const launching = new Promise<void>((r) => setImmediate(r)).then(() => this.launch(record, runtime, log));
      launching.catch(() => undefined); // observed by Start/Stop; never an unhandled rejection
      this.launches.set(newId, launching);
      log.info('container created', { name: reservedName });
    };
    const { id } = await this.store.names.reserveOrJoin(reservedName, newId, create, fingerprint);
    return id;
  }

  /** Runs conmon (which runs `runc create`) and records the pid or the failure. */
  private async launch(record: ContainerRecord, runtime: OciRuntimeDriver, log: Logger): Promise<number> {
    const release = this.opts.attachLockWarmer?.hold();
    try {
      const runtimePath = await runtime.execPath();
      const started = await this.opts.monitor.launch(
        conmonLaunchFor(record, { path: runtimePath, conmonRuntimeArgs: () => runtime.conmonRuntimeArgs() }, { conmonPath: this.opts.conmonPath, exitDir: this.exitDir, socketDir: this.socketDir, logSizeMax: this.opts.logSizeMax }),
      );
      this.launchedPids.set(record.id, started.pid);
      return started.pid;
    } catch (err) {
      log.warn('runtime create failed', { err: describeError(err) });
      await this.store.update(record.id, (r) => {
        r.reason = 'CreateContainerError';
        r.message = describeError(err);
      });
      throw err;
    } finally {
      release?.();
    }
  }

  /** The container's init pid: recorded, or known from a finished launch; 0 when none. */
  private pidOf(rec: ContainerRecord): number {
    return rec.pid > 0 ? rec.pid : (this.launchedPids.get(rec.id) ?? 0);
  }

  /** Waits for the background launch (relaunching when berthd restarted before it finished); returns the pid. */
  private async ensureLaunched(rec: ContainerRecord): Promise<number> {
    const pending = this.launches.get(rec.id);
    if (pending) {
      try {
        return await pending;
      } finally {
        this.launches.delete(rec.id);
      }
    }
    const known = this.pidOf(rec);
    if (known > 0) return known;
    return this.launch(rec, this.runtimeFor(rec.runtimeHandler), this.opts.logger.child({ container: rec.id }));
  }

  /** StartContainer. */
  async startContainer(idOrPrefix: string): Promise<void> {
    const rec0 = this.require(idOrPrefix);
    await this.store.locks.run(rec0.id, async () => {
      const rec = this.require(rec0.id);
      if (rec.state !== 'created') throw new FailedPreconditionError(`container ${rec.id} is ${rec.state}, not created`);
      let pid: number;
      try {
        pid = await timeStep(this.opts.stepObserver, 'start', 'conmon launch', () => this.ensureLaunched(rec));
        await timeStep(this.opts.stepObserver, 'start', 'runc start', () => this.runtimeFor(rec.runtimeHandler).start(rec.id, pid));
      } catch (err) {
        throw wrapError(err, `start container ${rec.id}`);
      }
      const started = await this.store.update(rec.id, (r) => {
        r.pid = pid;
        // An exit may already have been recorded for a very short-lived process.
        if (r.state === 'created') r.state = 'running';
        r.startedAtNs = nowNs();
      });
      if (started) this.emit('started', started);
    });
  }

  /** StopContainer: stop signal, then SIGKILL after `timeoutSeconds`; succeeds when already stopped or gone. */
  async stopContainer(idOrPrefix: string, timeoutSeconds: number): Promise<void> {
    const id = this.store.resolveId(idOrPrefix);
    if (!id) return;
    await this.store.locks.run(id, () => this.stopLocked(id, timeoutSeconds));
  }

  private async stopLocked(id: string, timeoutSeconds: number): Promise<void> {
    const rec = this.store.get(id);
    if (!rec || rec.state === 'exited') return;
    const launch = this.launches.get(id);
    if (launch) await launch.catch(() => undefined);
    const current = this.store.get(id)!;
    const alreadyExited = await readExitFile(this.exitDir, id);
    if (alreadyExited) {
      await this.onExit(alreadyExited);
      return;
    }
    if (this.pidOf(current) <= 0) {
      // runc create never succeeded: nothing runs; settle the record as exited.
      await this.markExited({ id, exitCode: 255, finishedAtNs: nowNs() }, 'Error');
      return;
    }
    const runtime = this.runtimeFor(current.runtimeHandler);
    if (timeoutSeconds > 0 && current.state === 'running') {
      await this.signal(runtime, id, stopSignalName(current.stopSignal));
      if (await this.waitForExit(id, timeoutSeconds * 1000)) return;
      this.opts.logger.info('container ignored its stop signal; killing', { container: id, timeoutSeconds });
    }
    await this.signal(runtime, id, 'KILL');
    const killWait = this.opts.killWaitMs ?? KILL_WAIT_MS;
    if (await this.waitForExit(id, killWait)) return;
    // No exit report: if the runtime says it is gone, its monitor died with it; settle the record.
    const state = await runtime.state(id).catch(() => undefined);
    if (!state || state.status === 'stopped') {
      await this.markExited({ id, exitCode: 137, finishedAtNs: nowNs() }, 'Error', 'killed; its monitor reported no exit code');
      return;
    }
    throw new RuntimeError(`stop container ${id}: still ${state.status} ${killWait} ms after SIGKILL`);
  }

  /** runc kill, tolerating a process that is already gone. */
  private async signal(runtime: OciRuntimeDriver, id: string, sig: string): Promise<void> {
    try {
      await runtime.kill(id, sig);
    } catch (err) {
      const kind = (err as { kind?: string }).kind;
      if (kind === 'NotFound' || kind === 'FailedPrecondition') return; // exited meanwhile
      throw wrapError(err, `signal container ${id} with SIG${sig}`);
    }
  }

  /** Resolves true once the container's exit is recorded, false after `ms`. */
  private async waitForExit(id: string, ms: number): Promise<boolean> {
    const exited = () => {
      const rec = this.store.get(id);
      return !rec || rec.state === 'exited';
    };
    return this.exitWaiters.waitFor(id, ms, exited, async () => {
      const exit = await readExitFile(this.exitDir, id);
      if (exit) await this.onExit(exit);
    });
  }

  /** Handles an exit file: records the exit code, the reason (OOM from conmon's marker) and the time. */
  private async onExit(exit: ContainerExit): Promise<void> {
    const rec = this.store.get(exit.id);
    if (this.closed || !rec || rec.state === 'exited') return;
    if (this.pidOf(rec) <= 0 && this.launches.has(exit.id)) return; // conmon reports before we recorded the pid; the wait loop re-reads
    const oom = await fs
      .access(path.join(rec.paths.dir, 'oom'))
      .then(() => true)
      .catch(() => false);
    await this.markExited(exit, exitReason(exit.exitCode, oom));
  }

  private async markExited(exit: ContainerExit, reason: string, message = ''): Promise<void> {
    let changed = false;
    const updated = await this.store.update(exit.id, (r) => {
      if (r.state === 'exited') return false;
      changed = true;
      r.state = 'exited';
      r.exitCode = exit.exitCode;
      // File times use the kernel's coarse clock and can trail our start stamp by a tick.
      r.finishedAtNs = Math.max(exit.finishedAtNs, r.startedAtNs);
      r.reason = reason;
      if (message) r.message = message;
    });
    this.exitWaiters.notify(exit.id);
    if (updated && changed) this.emit('stopped', updated);
  }

  /**
   * RemoveContainer: kills a running container, deletes it from the runtime, unmounts, deletes its
   * files. Idempotent. For a container that had exited already, everything after its record's
   * move out of the store happens after the answer (container-remove.ts).
   */
  async removeContainer(idOrPrefix: string): Promise<void> {
    const id = this.store.resolveId(idOrPrefix);
    if (!id) return;
    await this.store.locks.run(id, async () => {
      const rec = this.store.get(id);
      if (!rec) return;
      try {
        const wasLive = rec.state !== 'exited';
        if (wasLive) await this.stopLocked(id, 0);
        // Image volumes now (cheap: no upper dir to sync): RemoveImage of their image may follow at once.
        await releaseImageVolumes(this.opts.native, this.opts.imageUsers, rec);
        if (wasLive) await tearDownContainer(this.removalDeps(), rec);
        // Under the store's write lock, so a late exit report cannot write the record meanwhile.
        await this.store.delete(id, (dir) => this.removals.takeAway(dir, rec, wasLive));
      } catch (err) {
        throw wrapError(err, `remove container ${id}`);
      }
      this.launches.delete(id);
      this.launchedPids.delete(id);
      this.emit('deleted', rec);
    });
  }

  private removalDeps(): RemovalDeps {
    return { runtimeFor: (h) => this.runtimeFor(h), native: this.opts.native, exitDir: this.exitDir, logger: this.opts.logger };
  }

  /** ContainerStatus (from memory; the view is shared and frozen); `verbose` adds the pid and the OCI spec. */
  async containerStatus(idOrPrefix: string, verbose: boolean): Promise<{ status: ContainerStatusView; info: Record<string, string> }> {
    const rec = this.require(idOrPrefix);
    const status = this.views.viewOf(rec);
    if (!verbose) return { status, info: {} };
    const spec = await readSpec(rec).catch(() => undefined);
    return { status, info: { info: JSON.stringify({ pid: this.pidOf(rec), sandboxID: rec.podSandboxId, runtimeHandler: rec.runtimeHandler, bundle: rec.paths.bundle, runtimeSpec: spec }) } };
  }

  /** ContainerStatus without verbose, synchronously: the shared, frozen view of the container's state. */
  statusView(idOrPrefix: string): ContainerStatusView {
    const rec = this.require(idOrPrefix);
    return this.views.viewOf(rec);
  }

  /** ListContainers (from memory; the views, and a pod's list, are shared and frozen). */
  listContainers(filter?: ContainerFilter): ContainerStatusView[] {
    const build = (): ContainerStatusView[] => this.store.list().filter((r) => matchesFilter(r, filter)).map((r) => this.views.viewOf(r));
    const pod = podOnlyFilter(filter);
    return pod === undefined ? build() : this.podLists.get(pod, this.store.changeCount(), build);
  }

  /** ExecSync: runs `cmd` in the container; DeadlineExceeded after `timeoutSeconds` (0 = none). */
  async execSync(idOrPrefix: string, cmd: string[], timeoutSeconds: number): Promise<ExecSyncResult> {
    const rec = this.require(idOrPrefix);
    return timeStep(this.opts.stepObserver, 'exec', 'runc exec', () => execInContainer(rec, this.runtimeFor(rec.runtimeHandler), cmd, timeoutSeconds));
  }

  /** A streaming exec session (the streaming server's ExecBackend.exec). */
  exec(idOrPrefix: string, cmd: string[], io: ExecSessionIo, signal: AbortSignal): Promise<{ exitCode: number }> {
    const rec = this.require(idOrPrefix);
    return runExecSession(rec, this.runtimeFor(rec.runtimeHandler), cmd, io, signal, this.opts.native);
  }

  /** Attach to a running container's stdio through conmon (the streaming server's AttachBackend). */
  attach(id: string, io: AttachIo, signal: AbortSignal): Promise<void> { return runAttachSession(this.require(id), io, signal, this.opts.native); }

  /** UpdateContainerResources: applies to the live cgroup (runc update) and records them. */
  async updateContainerResources(idOrPrefix: string, resources: LinuxResourcesInput): Promise<void> {
    const rec0 = this.require(idOrPrefix);
    await this.store.locks.run(rec0.id, async () => {
      const rec = this.require(rec0.id);
      // A created container exists in runc once its launch finishes: update it there too.
      const pid = rec.state === 'created' ? await this.ensureLaunched(rec).catch(() => 0) : this.pidOf(rec);
      await applyResources({ ...rec, pid }, this.runtimeFor(rec.runtimeHandler), resources, this.opts.specDefaults);
      await this.store.update(rec.id, (r) => {
        r.resources = { ...r.resources, ...structuredClone(resources) };
      });
    });
  }

  /** ReopenContainerLog: asks conmon to reopen the log file. */
  async reopenContainerLog(idOrPrefix: string): Promise<void> {
    await reopenLog(this.require(idOrPrefix));
  }

  /** ContainerStats: cgroup CPU/memory usage and writable-layer usage. */
  containerStats(idOrPrefix: string): Promise<ContainerStatsView> {
    return this.statsReader.stats(this.require(idOrPrefix).id);
  }

  /** ListContainerStats: stats of the created/running containers passing `filter`. */
  listContainerStats(filter?: ContainerFilter): Promise<ContainerStatsView[]> {
    return this.statsReader.list(filter);
  }

  /** PodSandboxStats for `pod` (facts from the pod layer) with its containers' stats. */
  async podStats(pod: PodStatsInput): Promise<PodStatsView> {
    return this.statsReader.podStats(pod);
  }

  /** ListPodSandboxStats: the stats of `pods` in one collection. */
  listPodStats(pods: PodStatsInput[]): Promise<PodStatsView[]> {
    return this.statsReader.listPodStats(pods);
  }

  /** Stops every container of a pod (PodContainersHook.stopAll). */
  async stopAllInPod(podId: string, timeoutSeconds = 0): Promise<void> {
    const ids = this.store.list().filter((r) => r.podSandboxId === podId).map((r) => r.id);
    await Promise.all(ids.map((id) => this.stopContainer(id, timeoutSeconds)));
  }

  /** Removes every container of a pod and waits until all its removed containers are torn down (PodContainersHook.removeAll). */
  async removeAllInPod(podId: string): Promise<void> {
    const ids = this.store.list().filter((r) => r.podSandboxId === podId).map((r) => r.id);
    await Promise.all(ids.map((id) => this.removeContainer(id)));
    await this.removals.podSettled(podId);
  }

  /** The stats reader's view of the containers passing `filter`: references into the records, no copies (StatsSource). */
  statsTargets(filter?: ContainerFilter): StatsTarget[] {
    return this.store.list().filter((r) => matchesFilter(r, filter)).map(statsTargetOf);
  }

  /** Internal record access for stats (cgroup path, rootfs upper dir). */
  containerPaths(idOrPrefix: string): { cgroupsPath: string; dir: string; state: string } | undefined {
    const id = this.store.resolveId(idOrPrefix);
    const rec = id ? this.store.get(id) : undefined;
    return rec ? { cgroupsPath: rec.cgroupsPath, dir: rec.paths.dir, state: rec.state } : undefined;
  }
}
