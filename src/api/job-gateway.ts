import { randomUUID } from 'node:crypto';
import { FlowProducer, Queue, QueueEvents, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../shared/config.js';
import { decodeError, ServiceError } from '../shared/errors.js';
import { SyncWaiters } from './sync-waiters.js';
import type { EnrollItemData, JobName, JobResults } from '../shared/jobs/index.js';
import {
  apiConnection,
  galleryStreamKey,
  publishGalleryChange,
  HEARTBEAT_TTL_S,
  ITEM_JOB_OPTIONS,
  parentJobOptions,
  QUEUE_NAMES,
  QUEUE_OF,
  queueOptions,
  SYNC_JOB_OPTIONS,
  workerConnection,
  workerHeartbeatKey,
  workerSetKey,
  type QueueName,
} from '../shared/queues.js';

/** How long a "workers alive" answer is reused: a request must not cost a Redis SCAN. */
const ALIVE_CACHE_MS = 1000;

/**
 * The API's only door to BullMQ: enqueue, wait for a sync result, look at workers and queues.
 * Redis trouble surfaces as SERVICE_UNAVAILABLE at once (the connection does not queue
 * commands while offline).
 */
export class JobGateway {
  readonly redis: Redis;
  private readonly queues: Map<QueueName, Queue>;
  private readonly events: QueueEvents;
  private readonly eventsConnection: Redis;
  private readonly waiters: SyncWaiters;
  private readonly flows: FlowProducer;
  private alive = { at: 0, count: 0 };

  constructor(private readonly config: Config) {
    this.redis = apiConnection(config);
    this.redis.on('error', () => undefined); // reported through /health and 503s, not as crashes
    this.queues = new Map(QUEUE_NAMES.map((n) => [n, new Queue(n, queueOptions(config, this.redis))]));
    this.eventsConnection = workerConnection(config);
    this.events = new QueueEvents(QUEUE_OF.embed, {
      connection: this.eventsConnection,
      prefix: config.keyPrefix,
    });
    // Redis trouble is reported through /health and 503s; without listeners BullMQ logs every retry.
    this.events.on('error', () => undefined);
    this.eventsConnection.on('error', () => undefined);
    for (const q of this.queues.values()) q.on('error', () => undefined);
    this.waiters = new SyncWaiters(this.events, this.redis, `${config.keyPrefix}:${QUEUE_OF.embed}:events`);
    this.flows = new FlowProducer({ connection: this.redis, prefix: config.keyPrefix });
    this.flows.on('error', () => undefined);
  }

  /** Enqueues a high-priority job and waits for its result, or throws the job's typed error. */
  async runSync<N extends JobName>(name: N, data: unknown, timeoutMs: number): Promise<JobResults[N]> {
    if ((await this.workersAlive()) === 0) {
      throw new ServiceError('SERVICE_UNAVAILABLE', 'no worker is running; try again shortly');
    }
    const queue = this.queue(QUEUE_OF[name]);
    await unavailableOnError(() => this.events.waitUntilReady());
    const jobId = randomUUID();
    const outcome = this.waiters.wait(jobId, timeoutMs);
    let job: Job;
    try {
      job = await unavailableOnError(() => queue.add(name, data, { ...SYNC_JOB_OPTIONS, jobId }));
    } catch (err) {
      this.waiters.cancel(jobId);
      throw err;
    }
    const result = await outcome;
    if (result.ok) {
      await this.discard(job);
      return (typeof result.value === 'string' ? JSON.parse(result.value) : result.value) as JobResults[N];
    }
    if ('timeout' in result) {
      throw new ServiceError('TIMEOUT', `no result within ${timeoutMs} ms`, { job_id: jobId });
    }
    await this.discard(job);
    throw decodeError(result.reason) ?? new ServiceError('INTERNAL_ERROR', 'the job failed');
  }

  /**
   * Enqueues a batch as one flow: the parent runs after every child has finished, failed
   * children included (`ignoreDependencyOnFailure`), so one bad item never blocks the batch.
   * Job ids are derived from the batch id, which makes the whole add idempotent.
   */
  async addBatch(
    parent: { name: JobName; data: unknown; jobId: string },
    children: { name: JobName; data: unknown; index: number }[],
  ): Promise<void> {
    await unavailableOnError(() =>
      this.flows.add({
        name: parent.name,
        queueName: QUEUE_OF[parent.name],
        data: parent.data,
        opts: { ...parentJobOptions(this.config), jobId: parent.jobId },
        children: children.map((c) => ({
          name: c.name,
          queueName: QUEUE_OF[c.name],
          data: c.data,
          opts: { ...ITEM_JOB_OPTIONS, jobId: `${parent.jobId}-${c.index}`, ignoreDependencyOnFailure: true },
        })),
      }),
    );
  }

  /**
   * Removes not-yet-started enrollment items of a user (erasure). Returns what was removed so
   * the caller can delete their photos and record the items as erased. An item already running
   * is stopped by the erasure tombstone the worker checks instead.
   */
  async removeQueuedEnrollments(
    userId: string,
  ): Promise<{ job_id: string; index: number; photos: string[] }[]> {
    const queue = this.queue(QUEUE_OF['enroll-item']);
    const jobs = await unavailableOnError(() =>
      queue.getJobs(['waiting', 'prioritized', 'delayed', 'waiting-children']),
    );
    const removed: { job_id: string; index: number; photos: string[] }[] = [];
    for (const job of jobs) {
      const data = job.data as Partial<EnrollItemData>;
      if (job.name !== 'enroll-item' || data.user_id !== userId) continue;
      const ok = await job.remove().then(
        () => true,
        () => false, // it started meanwhile: the tombstone handles it
      );
      if (ok && data.job_id !== undefined && data.index !== undefined) {
        removed.push({ job_id: data.job_id, index: data.index, photos: data.photos ?? [] });
      }
    }
    return removed;
  }

  /** Tells every worker to re-read this user's templates (after an erasure). */
  async galleryChanged(userId: string): Promise<void> {
    await unavailableOnError(() => publishGalleryChange(this.redis, galleryStreamKey(this.config), userId));
  }

  /** Live workers, from their heartbeat keys (cached briefly). */
  async workersAlive(): Promise<number> {
    if (Date.now() - this.alive.at < ALIVE_CACHE_MS) return this.alive.count;
    const count = (await this.workerAnnouncements()).length;
    this.alive = { at: Date.now(), count };
    return count;
  }

  async workerAnnouncements(): Promise<unknown[]> {
    const since = Date.now() - HEARTBEAT_TTL_S * 1000;
    const ids = await unavailableOnError(() =>
      this.redis.zrangebyscore(workerSetKey(this.config), since, '+inf'),
    );
    if (ids.length === 0) return [];
    const keys = ids.map((id) => workerHeartbeatKey(this.config, id));
    const values = await unavailableOnError(() => this.redis.mget(...keys));
    return values.filter((v): v is string => v !== null).map((v) => JSON.parse(v) as unknown);
  }

  async queueDepths(): Promise<Record<string, Record<string, number>>> {
    const out: Record<string, Record<string, number>> = {};
    for (const [name, q] of this.queues) {
      out[name] = await q.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed');
    }
    return out;
  }

  async ping(timeoutMs: number): Promise<boolean> {
    const timeout = new Promise<false>((r) => setTimeout(() => r(false), timeoutMs).unref());
    const pong = this.redis.ping().then(
      (v) => v === 'PONG',
      () => false,
    );
    return Promise.race([pong, timeout]);
  }

  /** Closes within `deadlineMs` even when Redis is gone (BullMQ's close waits for a connection). */
  async close(deadlineMs = 1000): Promise<void> {
    const closing = Promise.all([
      this.events.close(),
      this.flows.close(),
      ...[...this.queues.values()].map((q) => q.close()),
    ]);
    const deadline = new Promise((r) => setTimeout(r, deadlineMs).unref());
    await Promise.race([closing.catch(() => undefined), deadline]);
    this.redis.disconnect();
    this.eventsConnection.disconnect();
  }

  /** Waits (briefly) for the first connection, so requests right after start-up are not refused. */
  async ready(timeoutMs: number): Promise<void> {
    if (this.redis.status === 'ready') return;
    await Promise.race([
      new Promise((r) => this.redis.once('ready', r)),
      new Promise((r) => setTimeout(r, timeoutMs).unref()),
    ]);
  }

  private queue(name: QueueName): Queue {
    const q = this.queues.get(name);
    if (!q) throw new Error(`no queue ${name}`);
    return q;
  }

  /** The job's photo must not outlive the answer; retention is the backstop if this fails. */
  private async discard(job: Job): Promise<void> {
    await job.remove().catch(() => undefined);
  }
}

async function unavailableOnError<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ServiceError) throw err;
    throw new ServiceError('SERVICE_UNAVAILABLE', 'the job queue (Redis) is unreachable');
  }
}
