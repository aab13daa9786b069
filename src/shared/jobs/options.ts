import type { DefaultJobOptions } from 'bullmq';
import type { Config } from '../config.js';

/**
 * Sync jobs: one attempt (the caller retries, as the guide's clients do). The result is
 * delivered through QueueEvents (the completed event carries it), so a completed job is removed
 * as it completes, photo and all: no job to clear, trim or discard afterwards (with 60 s
 * retention each call paid a data rewrite and age/count trimming). Failed ones are kept briefly.
 * No priority: sync jobs are alone on their queue (`inference`; items went to `items`), so a
 * priority ordered nothing and cost BullMQ's prioritized set (a ZADD and an INCR of its counter
 * per add, a ZPOPMIN per take); they wait in the plain list (`<prefix>:inference:wait`), first
 * in first out.
 */
export const SYNC_JOB_OPTIONS: DefaultJobOptions = {
  attempts: 1,
  removeOnComplete: true,
  removeOnFail: { age: 600, count: 5000 },
};

/**
 * Batch items: transient faults (a store write, a pool thread that died) retry with
 * exponential backoff; bad input fails the item at once (UnrecoverableError). Finished jobs
 * are trimmed from Redis — their results live in the store. No priority: items are alone on
 * their queue (every one had the same priority when they shared the sync queue), so they wait
 * in BullMQ's plain list, first in first out as before.
 */
export const ITEM_JOB_OPTIONS: DefaultJobOptions = {
  attempts: 4,
  backoff: { type: 'exponential', delay: 1000 },
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
export function webhookJobOptions(config: Config): DefaultJobOptions {
  const scheduleMs = config.webhook.retryScheduleMs;
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
