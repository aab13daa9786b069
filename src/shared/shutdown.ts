import type { Logger } from './logger.js';

/**
 * First SIGTERM/SIGINT: run `drain` (stop taking work, finish or hand back active jobs within
 * its deadline) and exit. A second signal exits at once.
 */
export function onShutdown(logger: Logger, drain: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    drain().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}
