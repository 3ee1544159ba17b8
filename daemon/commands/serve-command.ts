/** `berthd` (no command): load config, start serving CRI, run until SIGTERM/SIGINT. */
import { performance } from 'node:perf_hooks';
import { describeError } from '../../common/errors';
import { createLogger } from '../../common/logger';
import { nativeAddonProblem } from '../../native/addon-loader';
import { cgroupDriverProblem } from '../cgroup-driver';
import { buildLayers } from '../layers';
import { DaemonHealth } from '../health';
import { DaemonMetrics } from '../metrics';
import type { MetricsServer } from '../metrics-server';
import { SystemdNotifier } from '../sd-notify';
import { startTracing, type DaemonTracing } from '../tracing';
import { installSignalHandlers } from '../signals';
import { berthVersion } from '../version';
import { startDaemon, startMetricsEndpoint } from '../wiring';
import { EXIT_FAILURE, EXIT_USAGE, type BerthdCommand } from './command';
import { loadConfigOrReport } from './load-config';

/** Time beyond the RPC grace period allowed for closing the layers and the metrics server. */
const SHUTDOWN_EXTRA_MS = 5000;

export const serveCommand: BerthdCommand = {
  words: [],
  summary: 'Serve CRI on the configured socket (the default command).',
  async run(ctx) {
    const loaded = loadConfigOrReport(ctx, false);
    if (!loaded) return EXIT_USAGE;
    const { config } = loaded;
    const addonProblem = nativeAddonProblem();
    if (addonProblem) {
      ctx.stderr(`berthd: ${addonProblem}\n`);
      return EXIT_FAILURE;
    }
    const driverProblem = await cgroupDriverProblem(config);
    if (driverProblem) {
      ctx.stderr(`berthd: ${driverProblem}\n`);
      return EXIT_USAGE;
    }
    const logger = createLogger({ level: config.logLevel, format: config.logFormat });
    for (const warning of loaded.warnings) logger.warn('configuration warning', { warning });
    const version = berthVersion();
    let daemon;
    let metricsServer: MetricsServer | undefined;
    let tracing: DaemonTracing | undefined;
    try {
      const metrics = new DaemonMetrics();
      const health = new DaemonHealth();
      tracing = startTracing(config, version, logger.child({ component: 'tracing' }));
      metrics.setSpanHooks(tracing);
      // First, so that /healthz answers and /readyz says what is missing while recovery runs.
      metricsServer = await startMetricsEndpoint(config, metrics, health, logger);
      daemon = await startDaemon(config, logger, version, await buildLayers(config, logger, metrics), metrics, { health, metricsServer, tracing });
    } catch (err) {
      logger.error('berthd failed to start', { err, error: describeError(err) });
      if (!daemon) {
        await metricsServer?.close();
        await tracing?.shutdown(1000);
      }
      return EXIT_FAILURE;
    }
    const running = daemon;
    const notifier = new SystemdNotifier({ logger });
    return new Promise<number>((resolve) => {
      const remove = installSignalHandlers(logger, async (signal) => {
        const graceMs = config.shutdownGraceSeconds * 1000;
        // A hung layer close must not keep a stopping daemon alive forever.
        const hardStop = setTimeout(() => {
          logger.error('shutdown did not finish in time; exiting', { graceMs, extraMs: SHUTDOWN_EXTRA_MS });
          resolve(EXIT_FAILURE);
        }, graceMs + SHUTDOWN_EXTRA_MS);
        try {
          await notifier.stopping();
          await running.stop(graceMs);
          logger.info('berthd stopped', { signal });
          resolve(0);
        } catch (err) {
          logger.error('shutdown failed', { err, error: describeError(err) });
          resolve(EXIT_FAILURE);
        } finally {
          clearTimeout(hardStop);
          remove();
        }
      });
      // Logged only once the handlers are in place: a supervisor may signal as soon as it reads it.
      logger.info('berthd ready', {
        version,
        socket: running.socketPath,
        root: config.root,
        runRoot: config.runRoot,
        metrics: running.metricsAddress ?? 'disabled',
        configFiles: loaded.files,
        readyMs: Math.round(performance.now()),
        pid: process.pid,
      });
      void notifier.ready(`serving CRI on ${running.socketPath}`);
    });
  },
};
