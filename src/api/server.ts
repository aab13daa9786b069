import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import type { Config } from '../shared/config.js';
import type { Logger } from '../shared/logger.js';
import { loadManifest, loadOpenSet } from '../shared/model-manifest.js';
import { createApp } from './app.js';
import { closeComparePool } from './compare/compare-pool.js';
import { openPersistence, type Persistence } from '../shared/store/index.js';
import { checkModelsDir, listenError, StartupError } from '../shared/startup.js';
import { drainerFor } from './http-drain.js';
import { JobGateway } from './job-gateway.js';
import { checkRedisMode } from '../shared/redis-client.js';
import { jobDeps } from './job-deps.js';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export interface ApiServer {
  server: ServerType;
  port: number;
  /**
   * Stops accepting, closes keep-alive connections, lets requests in flight finish within
   * `graceMs` (SHUTDOWN_GRACE_MS) and cuts the rest, then closes Redis and the store.
   */
  close(graceMs?: number): Promise<void>;
}

/**
 * Starts the HTTP server. Without any API key configured the service is open, so it refuses to
 * listen on anything but loopback.
 */
export interface ApiOptions {
  /** Wraps the opened store and blob store (the benches count calls); its `close` must close the wrapped one. */
  wrapPersistence?: (persistence: Persistence) => Persistence;
}

export async function startApiServer(
  config: Config,
  logger: Logger,
  registry = new Registry(),
  options: ApiOptions = {},
): Promise<ApiServer> {
  const open = config.apiKeys.length === 0 && config.apiKeyHashes.length === 0;
  if (open && !LOOPBACK.has(config.host)) {
    throw new StartupError(
      `refusing to listen on ${config.host} without an API key: set API_KEYS (or API_KEY_HASHES), or HOST=127.0.0.1`,
    );
  }
  if (open) logger.warn('no API key configured: authentication is off, listening on loopback only');
  checkModelsDir(config.modelsDir);
  await checkRedisMode(config);
  const jobs = new JobGateway(config);
  await jobs.ready(2000);
  const opened = await openPersistence(config);
  const persistence = options.wrapPersistence ? options.wrapPersistence(opened) : opened;
  const manifest = loadManifest(config.modelsDir);
  const app = createApp({
    store: persistence.store,
    blobs: persistence.blobs,
    config,
    logger,
    ...jobDeps(jobs, config),
    manifest,
    openSet: loadOpenSet(config.modelsDir, manifest),
    registry,
    startedAt: Date.now(),
  });
  let onListening: (info: AddressInfo) => void = () => undefined;
  let onListenError: (err: unknown) => void = () => undefined;
  const listening = new Promise<AddressInfo>((resolve, reject) => {
    onListening = resolve;
    onListenError = reject;
  });
  const server = serve({ fetch: app.fetch, hostname: config.host, port: config.port }, (info) =>
    onListening(info),
  );
  // A busy port is an 'error' event, not a throw: without this listener it crashed with a stack.
  server.once('error', (err: NodeJS.ErrnoException) =>
    onListenError(listenError(err, 'api', 'PORT', config.host, config.port)),
  );
  // Tracks requests from the first one on, so a drain knows every response in flight.
  const drain = drainerFor(server);
  const { port } = await listening.catch(async (err: unknown) => {
    await Promise.allSettled([jobs.close(), persistence.close()]);
    throw err;
  });
  logger.info({ host: config.host, port }, 'api listening');
  return {
    server,
    port,
    async close(graceMs = config.shutdownGraceMs) {
      if ((await drain(graceMs)) === 'forced') {
        logger.warn({ graceMs }, 'shutdown deadline passed; cut the requests still in flight');
      }
      await closeComparePool();
      await jobs.close();
      await persistence.close();
    },
  };
}
