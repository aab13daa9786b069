import { hostname } from 'node:os';
import type { RedisClient } from '../shared/redis-client.js';
import type { Config } from '../shared/config.js';
import type { ModelManifest } from '../shared/model-manifest.js';
import {
  HEARTBEAT_EVERY_MS,
  HEARTBEAT_TTL_S,
  workerHeartbeatKey,
  workerSetKey,
} from '../shared/worker-heartbeat.js';

export interface WorkerAnnouncement {
  id: string;
  host: string;
  pid: number;
  pool_size: number;
  started_at: string;
  models: Record<string, { file: string; sha256: string }>;
  /** Templates in this worker's gallery index (null until it first loaded): /models' gallery size. */
  gallery_templates: number | null;
}

/**
 * Announces this worker in Redis every few seconds with a TTL, so the API can tell "no worker
 * alive" (503 at once) from "busy", and /health can list what each worker loaded.
 */
export function startHeartbeat(
  redis: RedisClient,
  config: Config,
  manifest: ModelManifest,
  galleryTemplates: () => number | null = () => null,
): () => Promise<void> {
  const id = `${hostname()}-${process.pid}`;
  const body: WorkerAnnouncement = {
    id,
    host: hostname(),
    pid: process.pid,
    pool_size: config.poolSize,
    started_at: new Date().toISOString(),
    models: Object.fromEntries(
      Object.entries(manifest.models).map(([name, m]) => [name, { file: m.file, sha256: m.sha256 }]),
    ),
    gallery_templates: null,
  };
  const key = workerHeartbeatKey(config, id);
  const set = workerSetKey(config);
  const beat = () =>
    redis
      .multi()
      .set(key, JSON.stringify({ ...body, gallery_templates: galleryTemplates() }), 'EX', HEARTBEAT_TTL_S)
      .zadd(set, Date.now(), id)
      .zremrangebyscore(set, '-inf', Date.now() - 10 * HEARTBEAT_TTL_S * 1000)
      .exec()
      .catch(() => undefined);
  void beat();
  const timer = setInterval(() => void beat(), HEARTBEAT_EVERY_MS);
  return async () => {
    clearInterval(timer);
    await redis
      .multi()
      .del(key)
      .zrem(set, id)
      .exec()
      .catch(() => undefined);
  };
}
