/**
 * The steps of RunPodSandbox, in order, each timed and each registering its undo on the cleanup
 * stack the caller unwinds if a later step fails (docs/architecture.md, "RunPodSandbox"):
 *   files  - state dir with a `creating` record, volatile dir, hostname/hosts/resolv.conf
 *   shm    - /dev/shm tmpfs (unless ipc NODE)
 *   cgroup - the pod cgroup in every hierarchy
 *   netns  - a new netns with lo up, pinned under <run-root>/ns (pod network, no user namespace)
 *   pause  - native pause in the new namespaces (a new user namespace first, when asked; joining
 *            the netns of the step before when there is one), exit watch
 *   pin    - bind mounts of /proc/<pause>/ns/* under <run-root>/ns
 *   cni    - CNI ADD in the pinned netns (skipped for network NODE), hosts gets the pod IPs
 *   state  - the `ready` record
 * With a netns made first, cni runs while pause and pin do (their wall times overlap), unless
 * the pod has net.* sysctls: those must be in place before CNI creates the pod's interface.
 */
import { promises as fs } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import * as path from 'node:path';
import { CleanupStack } from '../common/cleanup-stack';
import { RuntimeError } from '../common/errors';
import { timeAsync } from '../common/timed';
import { Logger } from '../common/logger';
import type { NamespaceKind } from '../native/binding';
import { PodNativeOps, PodNetwork, PodStartObserver, ProcessControl } from './dependencies';
import { createPinnedNetns, pinNamespaces, unpinNamespace } from './namespace-pins';
import { PodCgroup, PodCgroups, podCgroupName } from './pod-cgroups';
import { updateHostsWithIps, writePodFiles } from './pod-files';
import { SANDBOX_RECORD_VERSION, SandboxRecord, SandboxStore } from './sandbox-store';
import { mountShm, unmountShm } from './shm';
import { pauseBeforeStepForTests } from './test-pause-hook';
import { chownPodFiles, podRootIds } from './userns';
import { PodSandboxConfigInput, PodStartStep } from './types';
import { ValidatedPodConfig } from './validate-config';

/** What the steps need; PodManager builds it once. */
export interface StartSandboxDeps {
  native: PodNativeOps;
  network: PodNetwork;
  processes: ProcessControl;
  store: SandboxStore;
  cgroups: PodCgroups;
  runRoot: string;
  pauseExecutable: string;
  pauseUid: number;
  pauseGid: number;
  shmSizeBytes: number;
  hostResolvConf: string;
  hostHosts: string;
  defaultCgroupParent: string;
  observer?: PodStartObserver;
  /** Starts watching pause; the returned function kills it and waits until it is gone. */
  watchPause(podId: string, pid: number): void;
  killPause(podId: string, pid: number): Promise<void>;
}

/** The volatile dir of a pod (files, shm). */
export function volatileDirOf(runRoot: string, podId: string): string {
  return path.join(runRoot, 'pods', podId);
}

/** Runs every step for pod `id`; the returned record is stored as `ready`. */
export async function startSandbox(
  deps: StartSandboxDeps,
  id: string,
  cfg: ValidatedPodConfig,
  rawConfig: PodSandboxConfigInput,
  stack: CleanupStack,
  log: Logger,
): Promise<SandboxRecord> {
  const timings: Partial<Record<PodStartStep, number>> = {};
  const hostNetwork = cfg.modes.network === 'node';
  const hostname = cfg.hostname || (hostNetwork ? osHostname() : id.slice(0, 12));
  const ctx: StartContext = {
    deps,
    id,
    cfg,
    stack,
    hostNetwork,
    hostname,
    // Host ids of the pod's root (uid, gid) when it has a user namespace: what it must own.
    podRoot: cfg.userNamespace ? podRootIds(cfg.userNamespace) : undefined,
    volatileDir: volatileDirOf(deps.runRoot, id),
    record: creatingRecord(id, cfg, rawConfig, hostname, cfg.cgroupParent || deps.defaultCgroupParent, timings),
    timed: async (step, fn) => {
      await pauseBeforeStepForTests(step, { id, name: cfg.name, namespace: cfg.namespace });
      return timeAsync(fn, (seconds) => {
        timings[step] = Math.round(seconds * 1e6) / 1e3;
        deps.observer?.observeStep(step, seconds);
      });
    },
  };
  const hostSide = prepareHostSide(ctx);
  // A user namespace must own the pod's netns, so pause creates it then (and lo comes from CNI).
  // Otherwise the netns is made as soon as the `creating` record is durable, beside files/shm/cgroup.
  const netnsMade = !hostNetwork && !cfg.userNamespace ? hostSide.recordWritten.then(() => ctx.timed('netns', () => createNetns(ctx))) : Promise.resolve(undefined);
  const overlap = !hostNetwork && !cfg.userNamespace && !hasNetSysctl(cfg.sysctls);
  const startPod = async (): Promise<number> => {
    // allSettled: every undo of both is on the stack before a failure of either unwinds them.
    const [prepared, made] = await Promise.allSettled([hostSide.done, netnsMade]);
    if (prepared.status === 'rejected') throw prepared.reason;
    if (made.status === 'rejected') throw made.reason;
    const netns = made.value;
    const namespaces = podNamespaces(cfg, hostNetwork, netns !== undefined);
    const pid = await ctx.timed('pause', () => startPause(ctx, prepared.value, namespaces, netns));
    await ctx.timed('pin', async () => {
      const pinned: NamespaceKind[] = cfg.userNamespace ? [...namespaces, 'user'] : namespaces;
      const paths = await pinNamespaces(deps.native, deps.runRoot, id, pid, pinned, (kind, file) =>
        stack.push(`unpin ${kind} namespace`, () => unpinNamespace(deps.native, file)),
      );
      Object.assign(ctx.record.info.namespacePaths, paths);
    });
    return pid;
  };
  let pid: number;
  if (overlap) {
    // CNI ADD runs from the moment the netns exists, while the host side and pause finish.
    const attach = async (): Promise<void> => {
      const netns = await netnsMade;
      if (netns === undefined) return;
      await ctx.timed('cni', () => attachNetwork(ctx, netns, true, hostSide.files));
    };
    const [started, attached] = await Promise.allSettled([startPod(), attach()]);
    if (started.status === 'rejected') throw started.reason;
    if (attached.status === 'rejected') throw attached.reason;
    pid = started.value;
  } else {
    pid = await startPod();
    const netnsPath = ctx.record.info.namespacePaths.net;
    if (netnsPath) await ctx.timed('cni', () => attachNetwork(ctx, netnsPath, !cfg.userNamespace, hostSide.files));
  }
  await ctx.timed('state', async () => {
    // A copy: the store holds the creating record, and List/Status must not see `ready` before it is on disk.
    const ready: SandboxRecord = { ...ctx.record, phase: 'ready' };
    await deps.store.put(ready);
    ctx.record = ready;
  });
  log.info('pod sandbox started', { pod: id, name: cfg.reservedName, pid, ips: ctx.record.runtime.ips, stepTimingsMs: timings });
  return ctx.record;
}

/** What every step of one start shares. */
interface StartContext {
  deps: StartSandboxDeps;
  id: string;
  cfg: ValidatedPodConfig;
  stack: CleanupStack;
  hostNetwork: boolean;
  hostname: string;
  podRoot: { uid: number; gid: number } | undefined;
  volatileDir: string;
  /** Filled in step by step; stored as `creating` first, `ready` last. */
  record: SandboxRecord;
  /** Times a step into the record's step timings and the observer. */
  timed<T>(step: PodStartStep, fn: () => Promise<T>): Promise<T>;
}

/** The `creating` record of a pod about to start (paths and runtime facts are filled in later). */
function creatingRecord(
  id: string,
  cfg: ValidatedPodConfig,
  rawConfig: PodSandboxConfigInput,
  hostname: string,
  cgroupParent: string,
  timings: Partial<Record<PodStartStep, number>>,
): SandboxRecord {
  return {
    version: SANDBOX_RECORD_VERSION,
    phase: 'creating',
    reservedName: cfg.reservedName,
    info: {
      id,
      name: cfg.name,
      namespace: cfg.namespace,
      uid: cfg.uid,
      attempt: cfg.attempt,
      createdAt: Date.now() * 1e6,
      runtimeHandler: cfg.runtimeHandler,
      namespacePaths: {},
      namespaceModes: cfg.modes,
      ...(cfg.userNamespace ? { userNamespace: cfg.userNamespace } : {}),
      cgroupParent,
      hostnamePath: '',
      hostsPath: '',
      resolvConfPath: '',
      hostname,
      logDirectory: cfg.logDirectory,
      labels: cfg.labels,
      annotations: cfg.annotations,
      config: rawConfig,
    },
    runtime: { cgroupDirs: [], ips: [], networkAttached: false, shmMounted: false, stepTimingsMs: timings },
  };
}

/** The host side in flight: the record write, the files step, and all three steps settled. */
interface HostSide {
  /** The `creating` record is durable. */
  recordWritten: Promise<void>;
  /** The pod files exist (and their paths are in the record). */
  files: Promise<void>;
  /** files, shm and cgroup all settled; the pod cgroup, or the first failure. */
  done: Promise<PodCgroup>;
}

/**
 * Starts the files, shm and cgroup steps. They are independent and run concurrently (allSettled,
 * so every undo is on the stack before a failure unwinds it). The undo of the two dirs is pushed
 * first (synchronously) so it runs last, after shm is unmounted. The `creating` record is durable
 * before the pod cgroup, netns and pause exist: recovery finds them only through it (the cgroup
 * parent is in the record), so a crash between them and the record would leak the cgroup.
 */
function prepareHostSide(ctx: StartContext): HostSide {
  const { deps, id, stack, volatileDir, record } = ctx;
  stack.push('delete pod state', () => deps.store.delete(id));
  stack.push('delete pod volatile dir', () => fs.rm(volatileDir, { recursive: true, force: true }));
  const dirMade = fs.mkdir(volatileDir, { recursive: true, mode: 0o711 });
  const recordWritten = dirMade.then(() => deps.store.put(record));
  const steps = dirMade.then(() => hostSideSteps(ctx, recordWritten));
  const files = steps.then((s) => s.files);
  // Handled here; callers that await them see the rejection themselves.
  files.catch(() => undefined);
  recordWritten.catch(() => undefined);
  return { recordWritten, files, done: steps.then((s) => s.done) };
}

function hostSideSteps(ctx: StartContext, recordWritten: Promise<void>): { files: Promise<void>; done: Promise<PodCgroup> } {
  const { deps, id, cfg, stack, record, volatileDir, podRoot } = ctx;
  const files = ctx.timed('files', async () => {
    const [, paths] = await Promise.all([
      recordWritten,
      writePodFiles(volatileDir, { hostname: ctx.hostname, dns: cfg.dns, hostNetwork: ctx.hostNetwork, hostResolvConf: deps.hostResolvConf, hostHosts: deps.hostHosts }),
    ]);
    Object.assign(record.info, paths);
    if (podRoot) await chownPodFiles(paths, podRoot);
    if (cfg.logDirectory) {
      // kubelet creates it; crictl users rely on the runtime doing so (as cri-o does).
      const firstCreated = await fs.mkdir(cfg.logDirectory, { recursive: true, mode: 0o755 });
      if (firstCreated) stack.push('remove pod log dir', () => fs.rm(firstCreated, { recursive: true, force: true }));
    }
  });
  const shm =
    cfg.modes.ipc === 'pod'
      ? ctx.timed('shm', async () => {
          const shmPath = path.join(volatileDir, 'shm');
          await mountShm(deps.native, shmPath, deps.shmSizeBytes, podRoot);
          stack.push('unmount pod shm', () => unmountShm(deps.native, shmPath));
          record.info.shmPath = shmPath;
          record.runtime.shmMounted = true;
        })
      : Promise.resolve();
  const cgroupStep = recordWritten.then(() =>
    ctx.timed('cgroup', async () => {
      const created = await deps.cgroups.create(record.info.cgroupParent, podCgroupName(id));
      stack.push('remove pod cgroup', () => deps.cgroups.remove(created.dirs));
      record.runtime.cgroupDirs = created.dirs;
      return created;
    }),
  );
  const done = Promise.allSettled([files, shm, cgroupStep]).then((settled) => {
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    return cgroupStep;
  });
  return { files, done };
}

/** Makes and pins the pod's netns (lo up); its undo goes on the stack. */
async function createNetns(ctx: StartContext): Promise<string> {
  const { deps, id, stack, record } = ctx;
  const file = await createPinnedNetns(deps.native, deps.runRoot, id, (pin) =>
    stack.push('unpin net namespace', () => unpinNamespace(deps.native, pin)),
  );
  record.info.namespacePaths.net = file;
  return file;
}

/** Whether a sysctl is of the network namespace (it must precede the pod's interfaces). */
function hasNetSysctl(sysctls: Readonly<Record<string, string>>): boolean {
  // validateSysctls hands them over in dot form.
  return Object.keys(sysctls).some((name) => name.startsWith('net.'));
}

/**
 * The namespaces pause creates for the pod (the user namespace is the native layer's own step);
 * without 'net' when it joins one made before.
 */
function podNamespaces(cfg: ValidatedPodConfig, hostNetwork: boolean, netnsMade: boolean): NamespaceKind[] {
  const namespaces: NamespaceKind[] = [];
  if (!hostNetwork && !netnsMade) namespaces.push('net');
  if (!hostNetwork) namespaces.push('uts');
  if (cfg.modes.ipc === 'pod') namespaces.push('ipc');
  if (cfg.modes.pid === 'pod') namespaces.push('pid');
  return namespaces;
}

/** Starts pause in new namespaces (joining `netns` if given) inside the pod cgroup and watches it; returns its pid. */
async function startPause(ctx: StartContext, cgroup: PodCgroup, namespaces: NamespaceKind[], netns: string | undefined): Promise<number> {
  const { deps, id, cfg } = ctx;
  let started: { pid: number };
  try {
    started = await deps.native.startPause({
      executable: deps.pauseExecutable,
      namespaces,
      hostname: ctx.hostname,
      uid: deps.pauseUid,
      gid: deps.pauseGid,
      cgroupProcs: cgroup.procs,
      denyDevicesCgroups: cgroup.v2Dirs,
      sysctls: cfg.sysctls,
      logFile: path.join(ctx.volatileDir, 'pause.log'),
      ...(netns !== undefined ? { netns } : {}),
      // uid/gid (65535) are then ids inside: pause stays an unprivileged id of the pod's own
      // range (host base + 65535), never its root, whose files and processes it has no need of.
      ...(cfg.userNamespace ? { userNamespace: cfg.userNamespace } : {}),
    });
  } catch (err) {
    throw new RuntimeError(`start pause for pod ${id}`, { cause: err });
  }
  ctx.stack.push('kill pause', () => deps.killPause(id, started.pid));
  ctx.record.runtime.pausePid = started.pid;
  ctx.record.runtime.pauseStartTime = deps.processes.startTime(started.pid);
  deps.watchPause(id, started.pid);
  return started.pid;
}

/**
 * CNI ADD in the pinned netns (`loopbackUp`: createNetns brought lo up); the pod's hosts file
 * (once `files` made it) gets its first IP.
 */
async function attachNetwork(ctx: StartContext, netnsPath: string, loopbackUp: boolean, files: Promise<void>): Promise<void> {
  const { deps, id, cfg, record, podRoot } = ctx;
  const ref = { id, name: cfg.name, namespace: cfg.namespace, uid: cfg.uid, netnsPath };
  // Registered before ADD: a failed or interrupted ADD may have left half an attachment.
  ctx.stack.push('tear down pod network', () => deps.network.tearDownPod(ref));
  const result = await deps.network.setUpPod({
    ...ref,
    loopbackUp,
    portMappings: cfg.portMappings,
    ...(cfg.bandwidth ? { bandwidth: cfg.bandwidth } : {}),
    ...(cfg.dns ? { dns: cfg.dns } : {}),
  });
  record.runtime.networkAttached = true;
  record.runtime.ips = result.ips;
  record.runtime.cniResult = result.raw;
  await files;
  if (result.ips.length > 0) {
    await updateHostsWithIps(record.info.hostsPath, ctx.hostname, result.ips.slice(0, 1));
    // The rewrite is a new file: hand it to the pod's root again.
    if (podRoot) await fs.lchown(record.info.hostsPath, podRoot.uid, podRoot.gid);
  }
}
