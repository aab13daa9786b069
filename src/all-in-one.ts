/**
 * `npm start`: API and worker in one process on the embedded defaults. Makes sure Redis
 * answers first: with REDIS_URL unset it starts a local redis-server if none answers (a child,
 * stopped with Shelia); a REDIS_URL that does not answer is a one-line error. Production runs
 * `start:api` and `start:worker` separately.
 */
import { Registry } from 'prom-client';
import { startApiServer, type ApiServer } from './api/server.js';
import { loadConfig } from './shared/config.js';
import { createLogger } from './shared/logger.js';
import { onShutdown } from './shared/shutdown.js';
import { checkModelsDir, startOrExit } from './shared/startup.js';
import { startWorkerService, type WorkerService } from './worker/service.js';
import { redisForStart } from './launcher/redis-bootstrap.js';

const NAME = 'shelia';
const config = await startOrExit(NAME, () => loadConfig());
const logger = createLogger(config.logLevel, NAME, config.logFormat);
// One registry: /metrics on the API shows the worker's metrics too.
const registry = new Registry();
const running: { worker?: WorkerService; api?: ApiServer } = {};
// Signals are handled before anything starts (a local redis-server included: the process then
// exits through process.exit, whose 'exit' handler stops it). One SHUTDOWN_GRACE_MS for the
// process: the API drains first (its sync calls need the worker), the worker gets what is left —
// at least 1 s to hand its active jobs back (they are retried, not lost).
onShutdown(logger, async () => {
  const deadline = Date.now() + config.shutdownGraceMs;
  await running.api?.close(config.shutdownGraceMs);
  await running.worker?.close(Math.max(1000, deadline - Date.now()));
});
await startOrExit(NAME, () =>
  redisForStart(config.redisUrl, config.redisUrlDefaulted, (msg) => logger.info(msg)),
);
await startOrExit(NAME, async () => {
  checkModelsDir(config.modelsDir);
  running.worker = await startWorkerService(config, logger, registry);
  running.api = await startApiServer(config, logger, registry);
});
