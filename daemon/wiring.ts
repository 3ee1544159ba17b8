/**
 * Builds a running berthd from a config: directories, metrics, the CRI server with every
 * handler map merged, listening on the socket. The layers receive plain option objects; none of
 * them imports daemon/.
 * The layers themselves are built in daemon/layers.ts.
 */
import * as fs from 'node:fs/promises';
import { CleanupStack } from '../common/cleanup-stack';
import { RuntimeError } from '../common/errors';
import type { Logger } from '../common/logger';
import type { CriHandlers } from '../cri/handlers';
import { runtimeInfoHandlers } from '../cri/runtime/info-handlers';
import { createCriServer, type CriServer } from '../cri/server';
import { loadNativeBinding } from '../native/addon';
import { streamListHandlers } from '../cri/stream-lists';
import type { BerthConfig } from './config-schema';
import { parseHostPort } from './config-validate';
import { DaemonHealth } from './health';
import { DaemonMetrics } from './metrics';
import { MemoryTrimmer } from './memory-trim';
import { startMetricsServer, type MetricsServer } from './metrics-server';
import type { DaemonTracing } from './tracing';
import { DaemonStatusSource, type HandlerFeatureFlags, type NetworkStatusProvider } from './status-source';

/** A serving daemon. */
export interface RunningDaemon {
  readonly socketPath: string;
  /** Bound metrics address, or undefined when metrics are disabled. */
  readonly metricsAddress: string | undefined;
  readonly metrics: DaemonMetrics;
  readonly status: DaemonStatusSource;
  /** Readiness (/readyz): serving, recovered, network. */
  readonly health: DaemonHealth;
  /** Stops accepting, lets in-flight RPCs finish for up to `graceMs`, removes the socket. */
  stop(graceMs: number): Promise<void>;
}

/** Merges handler maps; a method registered twice is a wiring bug. */
export function mergeHandlers(...maps: CriHandlers[]): CriHandlers {
  const out: Record<string, unknown> = {};
  for (const map of maps) {
    for (const [method, handler] of Object.entries(map)) {
      if (handler === undefined) continue;
      if (method in out) throw new RuntimeError(`merge CRI handlers: ${method} is registered twice`);
      out[method] = handler;
    }
  }
  return out as CriHandlers;
}

/** What the domain layers contribute; built by the integrator from the config (see layers.ts). */
export interface DaemonLayers {
  /** Handler maps of the image, pod and container layers, merged after the info handlers. */
  handlers?: CriHandlers[];
  /** Network readiness for Status (the CNI manager). */
  network?: NetworkStatusProvider;
  /** More verbose Status entries (JSON text values), e.g. the host's AppArmor. */
  statusInfo?(): Record<string, string>;
  /** What each runtime handler can do on this host, for Status ('' = the default handler). */
  handlerFeatures?(): Record<string, HandlerFeatureFlags>;
  /** CRI-level features the layers implement (Status `features`). */
  runtimeFeatures?: { supplementalGroupsPolicy: boolean };
  /** Called after the CRI server stopped (close watchers, flush state); never stops pods. */
  close?(): Promise<void>;
}

/** How long a stopping daemon waits for its last spans to be exported. */
const TRACING_FLUSH_MS = 3000;

/** Services started before the layers, so /readyz answers (503) while recovery runs. */
export interface EarlyServices {
  health: DaemonHealth;
  /** The metrics/health endpoint, undefined when disabled; startDaemon takes ownership. */
  metricsServer: MetricsServer | undefined;
  /** The tracer when `[tracing] endpoint` is set; startDaemon takes ownership (flushed last on stop). */
  tracing?: DaemonTracing;
}

/** Starts the metrics/health endpoint of `config` (undefined when `[metrics] listen` is empty). */
export async function startMetricsEndpoint(config: BerthConfig, metrics: DaemonMetrics, health: DaemonHealth, logger: Logger): Promise<MetricsServer | undefined> {
  if (config.metricsListen === '') return undefined;
  const hostPort = parseHostPort(config.metricsListen);
  if (!hostPort) throw new RuntimeError(`start metrics: bad address ${config.metricsListen}`);
  return startMetricsServer(hostPort.host, hostPort.port, metrics, logger.child({ component: 'metrics' }), health);
}

/** Starts berthd's services for `config`; undoes what it did when a step fails. */
export async function startDaemon(
  config: BerthConfig,
  logger: Logger,
  version: string,
  layers: DaemonLayers = {},
  metrics: DaemonMetrics = new DaemonMetrics(),
  early?: EarlyServices,
): Promise<RunningDaemon> {
  return CleanupStack.run(async (stack) => {
    const tracing = early?.tracing;
    if (tracing) stack.push('tracing', () => tracing.shutdown(TRACING_FLUSH_MS));
    if (early?.metricsServer) {
      const owned = early.metricsServer;
      stack.push('metrics server', () => owned.close());
    }
    stack.push('close layers', () => layers.close?.());
    await fs.mkdir(config.root, { recursive: true, mode: 0o700 });
    await fs.mkdir(config.runRoot, { recursive: true, mode: 0o700 });

    const status = new DaemonStatusSource(config, version);
    status.setNetworkProvider(layers.network);
    status.setHandlerFeatures(layers.handlerFeatures ? () => layers.handlerFeatures!() : undefined);

    const unary = mergeHandlers(
      runtimeInfoHandlers({ runtimeVersion: version, status, cgroupDriver: config.cgroupDriver, extraInfo: () => layers.statusInfo?.() ?? {}, features: layers.runtimeFeatures }),
      // The image, pod, container, metrics and streaming handler maps (daemon/layers.ts).
      ...(layers.handlers ?? []),
    );
    const handlers = mergeHandlers(unary, streamListHandlers(unary));

    // The layers were built (and recovered) before this is called.
    const health = early?.health ?? new DaemonHealth();
    health.setRecovered();
    health.setNetwork(() => status.networkReady());
    let metricsServer = early?.metricsServer;
    if (!early) {
      metricsServer = await startMetricsEndpoint(config, metrics, health, logger);
      const started = metricsServer;
      if (started) stack.push('metrics server', () => started.close());
    }

    // Memory back to the kernel after bursts, between requests (memory-trim.ts).
    const native = loadNativeBinding();
    const trimmer = new MemoryTrimmer({ reduce: () => native.reduceMemory(), logger: logger.child({ component: 'memory' }) });
    const observer = {
      beginCall: tracing?.beginCall,
      observe(service: 'RuntimeService' | 'ImageService', method: string, code: string, seconds: number): void {
        metrics.observe(service, method, code, seconds);
        trimmer?.noteActivity();
      },
    };
    const server: CriServer = createCriServer({ handlers, logger, observer });
    await warmUpServer(server, logger);
    try {
      await server.listen(config.listen);
    } catch (err) {
      throw new RuntimeError(`serve CRI on ${config.listen}`, { cause: err });
    }
    health.setServing(true);
    trimmer?.start();
    return {
      socketPath: config.listen,
      metricsAddress: metricsServer?.address,
      metrics,
      status,
      health,
      async stop(graceMs: number): Promise<void> {
        health.setServing(false);
        trimmer?.stop();
        await server.shutdown(graceMs);
        await metricsServer?.close();
        await layers.close?.();
        await tracing?.shutdown(TRACING_FLUSH_MS);
      },
    };
  });
}

/** Rounds of Version + Status berthd runs through its request path before it listens. */
const WARM_UP_ROUNDS = 1000;

/** Warms the CRI request path (cri/server.ts warmUp); a failure only costs speed, so it is logged. */
async function warmUpServer(server: CriServer, logger: Logger): Promise<void> {
  const started = performance.now();
  try {
    const calls = await server.warmUp(WARM_UP_ROUNDS);
    logger.debug('CRI request path warmed up', { calls, ms: Math.round(performance.now() - started) });
  } catch (err) {
    logger.warn('warming up the CRI request path failed', { err });
  }
}
