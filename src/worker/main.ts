/** Worker process entry point: wiring and signals only. */
import type { Server } from 'node:http';
import { Registry } from 'prom-client';
import { loadConfig } from '../shared/config.js';
import { createLogger } from '../shared/logger.js';
import { onShutdown } from '../shared/shutdown.js';
import { checkModelsDir, startOrExit } from '../shared/startup.js';
import { serveMetrics } from './metrics.js';
import { startWorkerService, type WorkerService } from './service.js';

const NAME = 'shelia-worker';
const config = await startOrExit(NAME, () => loadConfig());
const logger = createLogger(config.logLevel, NAME, config.logFormat);
const registry = new Registry();
const running: { service?: WorkerService; metrics?: Server } = {};
// Signals are handled before the first job can start, so no job is ever cut off unhandled.
onShutdown(logger, async () => {
  running.metrics?.close();
  await running.service?.close();
});
// The metrics port first: a busy one is reported before the models load (seconds).
if (config.workerMetricsPort > 0) {
  running.metrics = await startOrExit(NAME, () =>
    serveMetrics(registry, config.workerMetricsPort, config.host),
  );
}
running.service = await startOrExit(NAME, () => {
  checkModelsDir(config.modelsDir);
  return startWorkerService(config, logger, registry);
});
