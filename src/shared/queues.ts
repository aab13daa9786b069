import type { DefaultJobOptions, QueueOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import type { Config } from './config.js';
import type { JobName } from './jobs/index.js';

/**
 * Job name -> queue. Inference jobs share one queue so priority orders sync before batch work;
 * batch parents (cheap bookkeeping) and webhooks (network waits) have their own.
 */
export const QUEUE_OF = {
  embed: 'inference',
  'enroll-item': 'inference',
  'embed-item': 'inference',
  identify: 'inference',
  'attendance-frame': 'inference',
  'attendance-batch': 'batch',
  'enroll-batch': 'batch',
  'embed-batch': 'batch',
  'batch-cleanup': 'batch',
  webhook: 'webhooks',
  'sightings-search': 'inference',
  // A whole batch through the pool, one photo at a time, behind any waiting caller (batch priority).
  'reembed-batch': 'inference',
  // One grouping at a time across every worker (global concurrency 1): src/shared/unknowns.ts.
  'unknowns-group': 'unknowns',
} as const satisfies Record<JobName, string>;

export type QueueName = (typeof QUEUE_OF)[JobName];
export const QUEUE_NAMES: readonly QueueName[] = [...new Set(Object.values(QUEUE_OF))];

/** BullMQ priority: 1 is served first. A waiting HTTP caller outranks any batch. */
export const PRIORITY = { sync: 1, batch: 10 } as const;

/**
 * Sync jobs: one attempt (the caller retries, as the guide's clients do). The result is
 * delivered through QueueEvents (the completed event carries it), so a completed job is removed
 * as it completes, photo and all: no job to clear, trim or discard afterwards (with 60 s
 * retention each call paid a data rewrite and age/count trimming). Failed ones are kept briefly.
 */
export const SYNC_JOB_OPTIONS: DefaultJobOptions = {
  attempts: 1,
  priority: PRIORITY.sync,
  removeOnComplete: true,
  removeOnFail: { age: 600, count: 5000 },
};

/**
 * Batch items: transient faults (a store write, a pool thread that died) retry with
 * exponential backoff; bad input fails the item at once (UnrecoverableError). Finished jobs
 * are trimmed from Redis — their results live in the store.
 */
export const ITEM_JOB_OPTIONS: DefaultJobOptions = {
  attempts: 4,
  backoff: { type: 'exponential', delay: 1000 },
  priority: PRIORITY.batch,
  removeOnComplete: { age: 3600, count: 10_000 },
  removeOnFail: { age: 24 * 3600, count: 10_000 },
};

/**
 * Batch parents: BATCH_PARENT_ATTEMPTS (8) with delays doubling from 1 s, 127 s in all, so a
 * fault of a minute or two still ends with the real status. One that gives up all the same is
 * finalised as `failed` by a clean-up job the worker queues (see the worker's `failed` handler).
 */
export function parentJobOptions(config: Config): DefaultJobOptions {
  return {
    attempts: config.batch.parentAttempts,
    backoff: { type: 'exponential', delay: 1000 },
    removeOnComplete: { age: 24 * 3600, count: 10_000 },
    removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
  };
}

/** Custom backoff types, computed by `retryDelay` (the worker's backoff strategy). */
export const WEBHOOK_BACKOFF = 'webhook-schedule';
export const CAPPED_BACKOFF = 'capped-exponential';

/** Batch clean-up: PHOTO_CLEANUP_ATTEMPTS, delays doubling from 1 s up to PHOTO_CLEANUP_MAX_DELAY_MS. */
export function cleanupJobOptions(config: Config): DefaultJobOptions {
  return {
    attempts: config.batch.cleanupAttempts,
    backoff: { type: CAPPED_BACKOFF },
    removeOnComplete: { age: 24 * 3600, count: 10_000 },
    removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
  };
}

/** Webhook retries follow the configured schedule (see the worker's backoff strategy). */
export function webhookJobOptions(scheduleMs: readonly number[]): DefaultJobOptions {
  return {
    attempts: scheduleMs.length + 1,
    backoff: { type: WEBHOOK_BACKOFF },
    removeOnComplete: { age: 24 * 3600, count: 10_000 },
    removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
  };
}

/**
 * The delay before retry `attemptsMade` (1 = the first retry) of a job with a custom backoff
 * type; BullMQ computes its built-in `exponential` and `fixed` itself.
 */
export function retryDelay(config: Config, attemptsMade: number, type: string | undefined): number {
  if (type === CAPPED_BACKOFF) {
    const cap = config.batch.cleanupMaxDelayMs;
    return Math.min(cap, 1000 * 2 ** Math.min(attemptsMade - 1, 30));
  }
  const schedule = config.webhook.retryScheduleMs;
  return schedule[Math.min(attemptsMade, schedule.length) - 1] ?? 0;
}

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
export function apiConnection(config: Config): Redis {
  return new Redis(config.redisUrl, {
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

export function workerConnection(config: Config): Redis {
  return new Redis(config.redisUrl, blockingConnectionOptions());
}

/**
 * Queue events carry job results (a sync embed's embedding among them): keep only the last
 * few hundred, enough for QueueEvents readers that are never far behind, instead of BullMQ's 10,000.
 */
const EVENTS_MAX_LEN = 500;

export function queueOptions(config: Config, connection: Redis): QueueOptions {
  return { connection, prefix: config.keyPrefix, streams: { events: { maxLen: EVENTS_MAX_LEN } } };
}

/** Key under which each live worker process announces itself (with a TTL) for /health. */
export const workerHeartbeatKey = (config: Config, id: string) => `${config.keyPrefix}:worker:${id}`;
/** Sorted set of worker ids scored by last heartbeat (ms), so finding live ones needs no KEYS scan. */
export const workerSetKey = (config: Config) => `${config.keyPrefix}:workers`;
export const HEARTBEAT_TTL_S = 15;
/** Stream of user ids whose templates changed; every worker replays it into its gallery index. */
export const galleryStreamKey = (config: Config) => `${config.keyPrefix}:gallery:changes`;
/**
 * Every second, so the API can tell within seconds that the last worker died (it judges a worker
 * gone after 4 missed beats, src/api/worker-liveness.ts); one small MULTI per second per worker.
 */
export const HEARTBEAT_EVERY_MS = 1000;

/** Stream entries kept: far more than any worker falls behind between two checks. */
const GALLERY_STREAM_MAXLEN = 100_000;

/** Announces that a user's templates changed (call after the store has committed). */
export async function publishGalleryChange(redis: Redis, streamKey: string, userId: string): Promise<void> {
  await redis.xadd(streamKey, 'MAXLEN', '~', GALLERY_STREAM_MAXLEN, '*', 'user_id', userId);
}
