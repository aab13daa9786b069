import type { QueueOptions } from 'bullmq';
import type { RedisClient } from '../redis-client.js';
import type { Config } from '../config.js';

/**
 * The BullMQ queues. Which job goes on which is the job registry's `queue` (registry.ts).
 * - inference: sync jobs only, those an HTTP caller waits for. The API's QueueEvents reads this
 *   queue's event stream (each sync result travels in its completed event), so nothing else goes
 *   on it: every other job's events would be read, and thrown away, by every API process.
 * - items: batch items (one photo, one frame), the flows' children.
 * - batch: batch parents (cheap bookkeeping) and batch clean-ups.
 * - webhooks: deliveries (mostly network waits).
 * - unknowns: grouping of unknown faces, one at a time across every worker (src/shared/unknowns.ts).
 */
export const QUEUE_NAMES = ['inference', 'items', 'batch', 'webhooks', 'unknowns'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

/** The queue of jobs a caller waits for: the one the API's QueueEvents reads. */
export const SYNC_QUEUE = 'inference' satisfies QueueName;

/**
 * Queue events carry job results (a sync embed's embedding among them): keep only the last
 * few hundred, enough for QueueEvents readers that are never far behind, instead of BullMQ's 10,000.
 */
const EVENTS_MAX_LEN = 500;

export function queueOptions(config: Config, connection: RedisClient): QueueOptions {
  return { connection, prefix: config.keyPrefix, streams: { events: { maxLen: EVENTS_MAX_LEN } } };
}
