/** Worker process entry point: wiring and signals only. */
import { loadConfig } from '../shared/config.js';
import { createLogger } from '../shared/logger.js';
import { onShutdown } from '../shared/shutdown.js';
import { serveMetrics } from './metrics.js';
import { startWorkerService, type WorkerService } from './service.js';

const config = loadConfig();
const logger = createLogger(config.logLevel, 'shelia-worker');
const running: { service?: WorkerService; metrics?: ReturnType<typeof serveMetrics> } = {};
// Signals are handled before the first job can start, so no job is ever cut off unhandled.
onShutdown(logger, async () => {
  running.metrics?.close();
  await running.service?.close();
});
running.service = await startWorkerService(config, logger);
if (config.workerMetricsPort > 0) {
  running.metrics = serveMetrics(running.service.metrics.registry, config.workerMetricsPort, config.host);
}
