/** Worker process entry point: wiring and signals only. */
import { loadConfig } from '../shared/config.js';
import { createLogger } from '../shared/logger.js';
import { serveMetrics } from './metrics.js';
import { startWorkerService } from './service.js';
import { onShutdown } from '../shared/shutdown.js';

const config = loadConfig();
const logger = createLogger(config.logLevel, 'shelia-worker');
const service = await startWorkerService(config, logger);
const metricsServer =
  config.workerMetricsPort > 0
    ? serveMetrics(service.metrics.registry, config.workerMetricsPort, config.host)
    : undefined;

onShutdown(logger, async () => {
  metricsServer?.close();
  await service.close();
});
