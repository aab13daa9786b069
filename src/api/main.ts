/** API process entry point: wiring and signals only. */
import { loadConfig } from '../shared/config.js';
import { createLogger } from '../shared/logger.js';
import { onShutdown } from '../shared/shutdown.js';
import { startOrExit } from '../shared/startup.js';
import { startApiServer } from './server.js';

const NAME = 'shelia-api';
const config = await startOrExit(NAME, () => loadConfig());
const logger = createLogger(config.logLevel, NAME, config.logFormat);
const api = await startOrExit(NAME, () => startApiServer(config, logger));
// SIGTERM: stop accepting, close keep-alive sockets, give requests in flight SHUTDOWN_GRACE_MS.
onShutdown(logger, () => api.close(config.shutdownGraceMs));
