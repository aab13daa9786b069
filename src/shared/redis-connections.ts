import type { RedisOptions } from 'ioredis';
import type { Config } from './config.js';
import { createRedis, type RedisClient } from './redis-client.js';

/**
 * How long the API waits for Redis to answer one command before answering 503. A connected but
 * frozen Redis (SIGSTOP, a partition: the socket stays open) otherwise held /embed for the whole
 * outage (45 s frozen: 8/8 calls 42-45 s). Measured here: p99 of a sync job's add with a 200 KB
 * photo 9 ms, with a 20 MB one (a 15 MiB upload as base64) 194 ms; other commands under 7 ms.
 * 2 s is 10x the largest, and leaves most of SYNC_TIMEOUT_MS for the job.
 */
export const COMMAND_TIMEOUT_MS = 2000;

/**
 * The API's connection fails fast: with Redis down a request gets 503 at once instead of
 * queueing commands in memory until the client times out; with Redis not answering, within
 * COMMAND_TIMEOUT_MS.
 */
export function apiConnection(config: Config): RedisClient {
  return createRedis(config, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    commandTimeout: COMMAND_TIMEOUT_MS,
    lazyConnect: false,
  });
}

/** Blocking connections (Worker, QueueEvents) must retry forever: BullMQ requires it. */
export function blockingConnectionOptions(): RedisOptions {
  return { maxRetriesPerRequest: null };
}

export function workerConnection(config: Config): RedisClient {
  return createRedis(config, blockingConnectionOptions());
}
