import { serve, type ServerType } from '@hono/node-server';
import { Registry } from 'prom-client';
import type { Config } from '../shared/config.js';
import type { Logger } from '../shared/logger.js';
import { loadManifest, loadOpenSet } from '../shared/model-manifest.js';
import { createApp } from './app.js';
import { closeComparePool } from './compare/compare-pool.js';
import { openPersistence } from '../shared/store/index.js';
import { JobGateway } from './job-gateway.js';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export interface ApiServer {
  server: ServerType;
  port: number;
  close(): Promise<void>;
}

/**
 * Starts the HTTP server. Without any API key configured the service is open, so it refuses to
 * listen on anything but loopback.
 */
export async function startApiServer(
  config: Config,
  logger: Logger,
  registry = new Registry(),
): Promise<ApiServer> {
  const open = config.apiKeys.length === 0 && config.apiKeyHashes.length === 0;
  if (open && !LOOPBACK.has(config.host)) {
    throw new Error(
      `refusing to listen on ${config.host} without an API key: set API_KEYS (or API_KEY_HASHES), or HOST=127.0.0.1`,
    );
  }
  if (open) logger.warn('no API key configured: authentication is off, listening on loopback only');
  const jobs = new JobGateway(config);
  await jobs.ready(2000);
  const persistence = await openPersistence(config);
  const manifest = loadManifest(config.modelsDir);
  const app = createApp({
    store: persistence.store,
    blobs: persistence.blobs,
    config,
    logger,
    jobs,
    manifest,
    openSet: loadOpenSet(config.modelsDir, manifest),
    registry,
    startedAt: Date.now(),
  });
  const { server, port } = await new Promise<{ server: ServerType; port: number }>((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: config.host, port: config.port }, (info) =>
      resolve({ server: s, port: info.port }),
    );
  });
  logger.info({ host: config.host, port }, 'api listening');
  return {
    server,
    port,
    async close() {
      await new Promise<void>((r) => server.close(() => r()));
      await closeComparePool();
      await jobs.close();
      await persistence.close();
    },
  };
}
