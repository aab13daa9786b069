import type { Config } from './config.js';

/**
 * The worker registry in Redis: each live worker process writes its announcement under its own
 * key (with a TTL) and its last beat into one sorted set; the API reads both (/health, 503s).
 */

/** Key under which each live worker process announces itself (with a TTL) for /health. */
export const workerHeartbeatKey = (config: Config, id: string) => `${config.keyPrefix}:worker:${id}`;
/** Sorted set of worker ids scored by last heartbeat (ms), so finding live ones needs no KEYS scan. */
export const workerSetKey = (config: Config) => `${config.keyPrefix}:workers`;
export const HEARTBEAT_TTL_S = 15;
/**
 * Every second, so the API can tell within seconds that the last worker died (it judges a worker
 * gone after 4 missed beats, src/api/worker-liveness.ts); one small MULTI per second per worker.
 */
export const HEARTBEAT_EVERY_MS = 1000;
