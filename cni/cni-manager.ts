/**
 * CniManager: the pod network API the pod layer calls. It owns the selected network
 * (config dir, watched, or the embedded default), runs ADD/DEL/CHECK/STATUS chains through the
 * plugin runner, and keeps the per-pod result cache that makes DEL work across restarts.
 *
 * Per pod:   (none) --setUpPod--> cache 'adding' --ADD ok--> cache 'added' --tearDownPod--> (none)
 *                                        |--ADD failed--> DEL what was added --> (none)
 * A crash while 'adding' leaves the record, so a later tearDownPod still runs DEL.
 */
import { promises as fs } from 'node:fs';
import { BerthError, describeError, errorKindOf, FailedPreconditionError, InvalidArgumentError, NotFoundError, RuntimeError } from '../common/errors';
import { KeyedMutex } from '../common/keyed-mutex';
import { Logger } from '../common/logger';
import { EMBEDDED_DEFAULT_SOURCE, LoadOutcome, loadNetwork, logLoadOutcome } from './config-loader';
import { ConfigDirWatcher } from './config-watcher';
import { DefaultNetworkOptions, trimDefaultNetworkForPod } from './default-network';
import { bringUpLoopback } from './loopback';
import { probeNetns } from './netns-probe';
import { ensureMasquerade } from './masquerade';
import { AttachmentContext, addChain, ChainAddError, ChainSettings, checkChain, delChain, statusChain } from './network-chain';
import { ExecPluginRunner, findPluginBinary, PluginRunner } from './plugin-exec';
import { podIpsFromResult } from './pod-ips';
import { assertSafePodId, CachedAttachment, RESULT_CACHE_VERSION, ResultCache } from './result-cache';
import { buildCapabilityArgs, buildCniArgs } from './runtime-args';
import { CniPodRef, NetworkStatus, PodNetworkRequest, PodNetworkResult, SelectedNetwork } from './types';

/** The interface name inside every pod. */
const POD_INTERFACE_NAME = 'eth0';

/** Receives the duration of every plugin call; `ok` is false when the call failed. */
export interface CniPluginObserver {
  observe(plugin: string, command: string, seconds: number, ok: boolean): void;
}

/** How CniManager is configured (the first five are the agreed contract; the rest optional). */
export interface CniManagerOptions {
  configDir: string;
  pluginDirs: string[];
  /** Directory of the per-pod result cache (persistent, e.g. /var/lib/berth/cni/results). */
  cacheDir: string;
  defaultNetwork: DefaultNetworkOptions;
  logger: Logger;
  /** Kill a plugin call after this long (default 60 s, cri-o's value for a whole ADD is 4 min). */
  pluginTimeoutMs?: number;
  /** Bring up `lo` in each pod with the loopback plugin (default true). */
  loopback?: boolean;
  /** Debounce of config dir events (default 200 ms). */
  watchDebounceMs?: number;
  /** Poll interval while the config dir is missing (default 2 s). */
  watchPollMs?: number;
  /** How often STATUS is asked of 1.1.0 networks (default 10 s). */
  statusIntervalMs?: number;
  /** Install the default network's egress MASQUERADE rule (default true; unit tests turn it off). */
  defaultNetworkMasquerade?: boolean;
  /** Told about every plugin call (the daemon feeds a Prometheus histogram from it). */
  pluginObserver?: CniPluginObserver;
  /** Replaces process execution (unit tests). */
  runner?: PluginRunner;
}

/** Pod networking through CNI plugins. */
export class CniManager {
  private outcome: LoadOutcome = { network: undefined, skipped: [], problem: 'CNI configuration not loaded yet' };
  private statusProblem: string | undefined;
  private reloading: Promise<void> = Promise.resolve();
  private watcher: ConfigDirWatcher | undefined;
  private statusTimer: NodeJS.Timeout | undefined;
  private loopbackAvailable = false;
  /** The (pending or done) install of the default network's masquerade rule. */
  private masquerade: Promise<void> | undefined;
  private readonly locks = new KeyedMutex();
  private readonly cache: ResultCache;
  private readonly runner: PluginRunner;
  private readonly timeoutMs: number;

  private constructor(private readonly opts: CniManagerOptions) {
    this.cache = new ResultCache(opts.cacheDir);
    this.runner = opts.runner ?? new ExecPluginRunner();
    this.timeoutMs = opts.pluginTimeoutMs ?? 60_000;
  }

  /** Loads the config, starts watching the config dir, and prepares the cache dir. */
  static async create(opts: CniManagerOptions): Promise<CniManager> {
    const manager = new CniManager(opts);
    await manager.cache.init();
    await fs.mkdir(opts.defaultNetwork.ipamDataDir, { recursive: true, mode: 0o700 });
    manager.loopbackAvailable = opts.loopback !== false && !!(await findPluginBinary('loopback', opts.pluginDirs));
    if (opts.loopback !== false && !manager.loopbackAvailable) {
      opts.logger.warn('loopback CNI plugin not found; pods will have lo down', { pluginDirs: opts.pluginDirs });
    }
    await manager.reload();
    manager.watcher = new ConfigDirWatcher({
      dir: opts.configDir,
      logger: opts.logger,
      debounceMs: opts.watchDebounceMs,
      pollMs: opts.watchPollMs,
      onChange: () => void manager.reload(),
    });
    manager.watcher.start();
    manager.statusTimer = setInterval(() => void manager.refreshPluginStatus(), opts.statusIntervalMs ?? 10_000);
    manager.statusTimer.unref();
    return manager;
  }

  /** Re-reads the config dir now (the watcher calls this; also useful on SIGHUP). */
  reload(): Promise<void> {
    this.reloading = this.reloading.then(async () => {
      let outcome: LoadOutcome;
      try {
        outcome = await loadNetwork(this.opts);
      } catch (err) {
        outcome = { network: undefined, skipped: [], problem: `load CNI config from ${this.opts.configDir}: ${describeError(err)}` };
      }
      const before = this.outcome.network;
      this.outcome = outcome;
      if (!sameNetwork(before, outcome.network) || outcome.skipped.length > 0 || !outcome.network) {
        logLoadOutcome(this.opts.logger, outcome, this.opts.configDir);
      }
      await this.refreshPluginStatusNow();
    });
    return this.reloading;
  }

  /** Network readiness for CRI Status. */
  status(): NetworkStatus {
    const network = this.outcome.network;
    if (!network) {
      return { ready: false, reason: 'NetworkPluginNotReady', message: this.outcome.problem ?? 'no CNI network' };
    }
    if (this.statusProblem) {
      return { ready: false, reason: 'NetworkPluginNotReady', message: this.statusProblem, networkName: network.config.name };
    }
    return { ready: true, networkName: network.config.name };
  }

  /** Key/values for CRI Status verbose info: which network, from where, which plugins. */
  verboseInfo(): Record<string, string> {
    const network = this.outcome.network;
    if (!network) return { cniNetwork: '', cniProblem: this.outcome.problem ?? '' };
    return {
      cniNetwork: network.config.name,
      cniConfigSource: network.source,
      cniVersion: network.config.cniVersion,
      cniPlugins: network.config.plugins.map((p) => p.type).join(','),
    };
  }

  /** The network new pods would join (source file or 'embedded-default'); undefined when none. */
  currentNetwork(): SelectedNetwork | undefined {
    return this.outcome.network;
  }

  /** Attaches the pod to the network: ADD through the chain (and lo up unless it is already); DEL again on failure. */
  async setUpPod(pod: PodNetworkRequest): Promise<PodNetworkResult & { timingsMs: Record<string, number> }> {
    validatePodRef(pod);
    return this.locks.run(pod.id, async () => {
      const log = this.opts.logger.child({ pod: pod.id });
      const network = this.outcome.network;
      if (!network) {
        throw new FailedPreconditionError(`set up network of pod ${pod.id}: ${this.status().message}`);
      }
      const stale = await this.cache.read(pod.id);
      if (stale) {
        // A previous attempt left an attachment behind: release it before adding a new one.
        log.warn('pod already has a CNI attachment; deleting it before ADD', { state: stale.state });
        await this.deleteAttachment(stale, log);
      }
      if (network.source === EMBEDDED_DEFAULT_SOURCE && this.opts.defaultNetworkMasquerade !== false) {
        await this.ensureDefaultNetworkMasquerade(log);
      }
      const runtimeConfig = buildCapabilityArgs(pod);
      const config =
        network.source === EMBEDDED_DEFAULT_SOURCE ? trimDefaultNetworkForPod(network.config, runtimeConfig) : network.config;
      const record: CachedAttachment = {
        version: RESULT_CACHE_VERSION,
        podId: pod.id,
        state: 'adding',
        source: network.source,
        config,
        ifName: POD_INTERFACE_NAME,
        netnsPath: pod.netnsPath,
        cniArgs: buildCniArgs(pod),
        runtimeConfig,
      };
      const timingsMs: Record<string, number> = {};
      const settings = this.settings(timingsMs);
      await this.cache.write(record);
      const ctx = contextOf(record, record.netnsPath);
      // The chain (the longer of the two) first, then loopback, both at once.
      const chain = addChain(config, ctx, settings);
      const loopback = this.loopbackAvailable && !pod.loopbackUp
        ? timedInto(timingsMs, 'loopback', () => bringUpLoopback(this.runner, this.opts.pluginDirs, pod.id, pod.netnsPath, this.timeoutMs))
        : Promise.resolve();
      const [chainOut, loopbackOut] = await Promise.allSettled([chain, loopback]);
      let failure: unknown;
      if (chainOut.status === 'rejected') failure = chainOut.reason;
      else if (loopbackOut.status === 'rejected') failure = loopbackOut.reason;
      const result = chainOut.status === 'fulfilled' ? chainOut.value : undefined;
      if (result && failure === undefined) {
        record.state = 'added';
        record.result = result;
        try {
          await this.cache.write(record);
        } catch (err) {
          failure = err;
        }
      }
      if (failure !== undefined || !result) {
        const partial = result ?? (failure instanceof ChainAddError ? failure.partialResult : undefined);
        throw await this.rollBackAdd(record, partial, failure, log);
      }
      const ips = podIpsFromResult(result);
      log.debug('pod network set up', { network: config.name, ips, timingsMs });
      return { ips, interfaceName: POD_INTERFACE_NAME, raw: result, timingsMs };
    });
  }

  /** Detaches the pod: DEL with the cached config and result. Idempotent; a gone netns is fine. */
  async tearDownPod(pod: CniPodRef): Promise<void> {
    assertSafePodId(pod.id);
    await this.locks.run(pod.id, async () => {
      const record = await this.cache.read(pod.id);
      if (!record) return;
      await this.deleteAttachment(record, this.opts.logger.child({ pod: pod.id }));
    });
  }

  /** Runs CHECK with the cached result; NotFound when the pod has no attachment. */
  async checkPod(pod: CniPodRef): Promise<void> {
    assertSafePodId(pod.id);
    await this.locks.run(pod.id, async () => {
      const record = await this.cache.read(pod.id);
      if (!record || record.state !== 'added') throw new NotFoundError(`check network of pod ${pod.id}: pod has no network attachment`);
      if (!(await pathExists(record.netnsPath))) {
        throw new FailedPreconditionError(`check network of pod ${pod.id}: network namespace ${record.netnsPath} is gone`);
      }
      try {
        await checkChain(record.config, contextOf(record, record.netnsPath), record.result, this.settings());
      } catch (err) {
        throw wrap(`check network of pod ${pod.id}`, err);
      }
    });
  }

  /**
   * Ids of pods that have a cached attachment. Recovery after a restart (or a node reboot, which
   * empties /run but not the IPAM dir) calls tearDownPod for those no longer wanted.
   */
  async attachedPodIds(): Promise<string[]> {
    return this.cache.list();
  }

  /** Stops the watcher and timers; resolves once a reload or STATUS check in progress is over (no plugin left running). */
  async close(): Promise<void> {
    this.watcher?.close();
    if (this.statusTimer) clearInterval(this.statusTimer);
    await this.reloading.catch(() => undefined);
  }

  /** DEL for a cached attachment, then forget it. The netns may be gone: DEL runs without one. */
  private async deleteAttachment(record: CachedAttachment, log: Logger): Promise<void> {
    const timingsMs: Record<string, number> = {};
    try {
      await this.runDel(record, record.result, log, timingsMs);
    } catch (err) {
      throw wrap(`tear down network of pod ${record.podId}`, err);
    }
    await this.cache.remove(record.podId);
    log.debug('pod network torn down', { network: record.config.name, timingsMs });
  }

  /**
   * DEL through the cached list. CNI SPEC.md allows an empty CNI_NETNS for DEL; we use it when the
   * path is gone, and retry with it when DEL failed on a path that no longer holds a namespace
   * (an unmounted pin leaves a plain file, which plugins refuse as "not a network namespace").
   */
  private async runDel(record: CachedAttachment, result: CachedAttachment['result'], log: Logger, timingsMs?: Record<string, number>): Promise<void> {
    const existed = await pathExists(record.netnsPath);
    if (!existed) log.info('pod network namespace is gone; running CNI DEL without it', { netns: record.netnsPath });
    try {
      await delChain(record.config, contextOf(record, existed ? record.netnsPath : ''), result, this.settings(timingsMs));
    } catch (err) {
      if (!existed || (await probeNetns(record.netnsPath)) === 'namespace') throw err;
      log.info('pod netns path holds no namespace any more; retrying CNI DEL without it', { netns: record.netnsPath });
      await delChain(record.config, contextOf(record, ''), result, this.settings(timingsMs));
    }
  }

  /** After a failed ADD: DEL what may have been added; the cache stays if that fails too. */
  private async rollBackAdd(record: CachedAttachment, partial: CachedAttachment['result'], addErr: unknown, log: Logger): Promise<Error> {
    const failure = wrap(`set up network of pod ${record.podId}`, addErr);
    try {
      await this.runDel(record, partial, log);
      await this.cache.remove(record.podId);
    } catch (delErr) {
      log.error('roll back failed CNI ADD; the attachment stays cached for a later tearDownPod', { error: delErr as Error });
      failure.message += ` (and rollback failed: ${describeError(delErr)})`;
    }
    return failure;
  }

  /**
   * Egress NAT for the default network, installed once per process (concurrent first pods share
   * one attempt, so the rule is not appended twice). A failure is logged and retried by the next
   * pod: pods still reach the node and each other without it.
   */
  private async ensureDefaultNetworkMasquerade(log: Logger): Promise<void> {
    const { name, subnet } = this.opts.defaultNetwork;
    this.masquerade ??= ensureMasquerade(name, subnet).catch((err: unknown) => {
      this.masquerade = undefined;
      log.error('pods of the default network have no egress NAT', { error: err as Error });
    });
    await this.masquerade;
  }

  private settings(timingsMs?: Record<string, number>): ChainSettings {
    const observer = this.opts.pluginObserver;
    return {
      runner: this.runner,
      pluginDirs: this.opts.pluginDirs,
      timeoutMs: this.timeoutMs,
      onPluginDone: (plugin, command, ms, ok) => {
        if (timingsMs) {
          const key = `${command} ${plugin}`;
          timingsMs[key] = round((timingsMs[key] ?? 0) + ms);
        }
        observer?.observe(plugin, command, ms / 1000, ok);
      },
    };
  }

  private async refreshPluginStatus(): Promise<void> {
    this.reloading = this.reloading.then(() => this.refreshPluginStatusNow());
    await this.reloading;
  }

  /** STATUS for 1.1.0 networks; older ones are ready as soon as they are valid. */
  private async refreshPluginStatusNow(): Promise<void> {
    const network = this.outcome.network;
    if (!network) {
      this.statusProblem = undefined;
      return;
    }
    try {
      await statusChain(network.config, this.settings());
      if (this.statusProblem) this.opts.logger.info('CNI network ready again', { network: network.config.name });
      this.statusProblem = undefined;
    } catch (err) {
      const message = describeError(err);
      if (message !== this.statusProblem) this.opts.logger.warn('CNI network not ready', { network: network.config.name, problem: message });
      this.statusProblem = message;
    }
  }
}

function validatePodRef(pod: PodNetworkRequest): void {
  assertSafePodId(pod.id);
  if (!pod.netnsPath) throw new InvalidArgumentError(`set up network of pod ${pod.id}: netnsPath is empty`);
  for (const [i, m] of pod.portMappings.entries()) {
    if (m.hostPort === 0) continue; // not a mapping, just a declared container port
    if (!validPort(m.hostPort) || !validPort(m.containerPort)) {
      throw new InvalidArgumentError(`set up network of pod ${pod.id}: portMappings[${i}] has an invalid port`);
    }
  }
}

function validPort(p: number): boolean {
  return Number.isInteger(p) && p > 0 && p <= 65535;
}

function contextOf(record: CachedAttachment, netns: string): AttachmentContext {
  return { containerId: record.podId, netns, ifName: record.ifName, cniArgs: record.cniArgs, capabilityArgs: record.runtimeConfig };
}

/** Wraps so the cause's kind decides the gRPC code; untyped causes become RuntimeError. */
function wrap(message: string, cause: unknown): BerthError {
  return errorKindOf(cause) === undefined ? new RuntimeError(message, { cause }) : new BerthError(message, { cause });
}

function sameNetwork(a: SelectedNetwork | undefined, b: SelectedNetwork | undefined): boolean {
  if (!a || !b) return a === b;
  return a.source === b.source && JSON.stringify(a.config) === JSON.stringify(b.config);
}

/** Whether `p` exists, without blocking the event loop (stat of a netns pin under load can). */
async function pathExists(p: string): Promise<boolean> {
  return fs.access(p).then(
    () => true,
    () => false,
  );
}

async function timedInto(into: Record<string, number>, key: string, fn: () => Promise<void>): Promise<void> {
  const start = process.hrtime.bigint();
  try {
    await fn();
  } finally {
    into[key] = round(Number(process.hrtime.bigint() - start) / 1e6);
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
