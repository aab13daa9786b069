/** Worker process entry point: wiring and signals only. */
import { loadConfig } from '../shared/config.js';
import { createLogger } from '../shared/logger.js';
import { onShutdown } from '../shared/shutdown.js';
import { serveMetrics } from './metrics.js';
import { startWorkerService, type WorkerService } from './service.js';

const config = loadConfig();
const logger = createLogger(config.logLevel, 'shelia-worker');
let service: WorkerService | undefined;
let metricsServer: ReturnType<typeof serveMetrics> | undefined;
// Signals are handled before the first job can start, so no job is ever cut off unhandled.
onShutdown(logger, async () => {
  metricsServer?.close();
  await service?.close();
});
service = await startWorkerService(config, logger);
if (config.workerMetricsPort > 0) {
  metricsServer = serveMetrics(service.metrics.registry, config.workerMetricsPort, config.host);
}
