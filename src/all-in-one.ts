/**
 * `npm start`: API and worker in one process on the embedded defaults. Makes sure Redis
 * answers first (starting a local redis-server if one is installed). Production runs
 * `start:api` and `start:worker` separately.
 */
import { Registry } from 'prom-client';
import { startApiServer, type ApiServer } from './api/server.js';
import { loadConfig } from './shared/config.js';
import { createLogger } from './shared/logger.js';
import { onShutdown } from './shared/shutdown.js';
import { checkModelsDir, startOrExit } from './shared/startup.js';
import { startWorkerService, type WorkerService } from './worker/service.js';
import { ensureRedis } from './shared/redis-bootstrap.js';

const NAME = 'shelia';
const config = await startOrExit(NAME, () => loadConfig());
const logger = createLogger(config.logLevel, NAME, config.logFormat);
await ensureRedis(config.redisUrl);
// One registry: /metrics on the API shows the worker's metrics too.
const registry = new Registry();
const running: { worker?: WorkerService; api?: ApiServer } = {};
// Signals are handled before the first job can start. One SHUTDOWN_GRACE_MS for the process: the
// API drains first (its sync calls need the worker), the worker gets what is left — at least 1 s
// to hand its active jobs back (they are retried, not lost).
onShutdown(logger, async () => {
  const deadline = Date.now() + config.shutdownGraceMs;
  await running.api?.close(config.shutdownGraceMs);
  await running.worker?.close(Math.max(1000, deadline - Date.now()));
});
await startOrExit(NAME, async () => {
  checkModelsDir(config.modelsDir);
  running.worker = await startWorkerService(config, logger, registry);
  running.api = await startApiServer(config, logger, registry);
});
