/**
 * Signal handling: SIGTERM/SIGINT stop the daemon gracefully once (a second one is logged, the
 * shutdown already in progress is bounded); SIGHUP is logged and ignored. Pods and containers are
 * never touched: they outlive berthd by design.
 */
import type { Logger } from '../common/logger';

/** Installs the handlers; `shutdown` runs at most once. Returns a function removing them. */
export function installSignalHandlers(logger: Logger, shutdown: (signal: NodeJS.Signals) => Promise<void>): () => void {
  let stopping = false;
  const onStop = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn('shutdown already in progress', { signal });
      return;
    }
    stopping = true;
    logger.info('shutting down', { signal });
    void shutdown(signal);
  };
  const onHup = () => logger.info('SIGHUP received; configuration reload is not supported yet, ignoring');
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  process.on('SIGHUP', onHup);
  return () => {
    process.off('SIGTERM', onStop);
    process.off('SIGINT', onStop);
    process.off('SIGHUP', onHup);
  };
}
