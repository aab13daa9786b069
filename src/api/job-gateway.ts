import { QueueEvents, type Queue } from 'bullmq';
import { answers, type RedisClient } from '../shared/redis-client.js';
import type { Config } from '../shared/config.js';
import { BullJobProducer } from '../shared/jobs/bullmq-producer.js';
import type {
  BatchChild,
  BatchParent,
  ItemJobName,
  JobData,
  JobName,
  JobQueue,
  JobResult,
  ParentJobName,
  SyncJobName,
} from '../shared/jobs/index.js';
import { SYNC_QUEUE, type QueueName } from '../shared/jobs/queues.js';
import { apiConnection, workerConnection } from '../shared/redis-connections.js';
import { workerSetKey } from '../shared/worker-heartbeat.js';
import { unavailableOnError } from './redis-errors.js';
import { SyncCalls } from './sync-calls.js';
import { WorkerLiveness } from './worker-liveness.js';

/**
 * The API's JobQueue on BullMQ: enqueue, add a batch, run a sync job and wait for its result;
 * plus the queues themselves for /health and the dashboard. Redis trouble surfaces as
 * SERVICE_UNAVAILABLE at once (the connection does not queue commands while offline) or within
 * COMMAND_TIMEOUT_MS (Redis connected but not answering).
 */
export class JobGateway implements JobQueue {
  readonly redis: RedisClient;
  /** Which workers beat, shared by sync calls and the worker registry (one Redis read per 0.5 s). */
  readonly liveness: WorkerLiveness;
  private readonly producer: BullJobProducer;
  private readonly events: QueueEvents;
  private readonly eventsConnection: RedisClient;
  private readonly sync: SyncCalls;

  constructor(private readonly config: Config) {
    this.redis = apiConnection(config);
    this.redis.on('error', () => undefined); // reported through /health and 503s, not as crashes
    this.producer = new BullJobProducer(config, this.redis).quietly();
    this.eventsConnection = workerConnection(config);
    // Only the sync queue's events: each sync result travels in its completed event.
    this.events = new QueueEvents(SYNC_QUEUE, {
      connection: this.eventsConnection,
      prefix: config.keyPrefix,
    });
    // Redis trouble is reported through /health and 503s; without listeners BullMQ logs every retry.
    this.events.on('error', () => undefined);
    this.eventsConnection.on('error', () => undefined);
    this.liveness = new WorkerLiveness(this.redis, workerSetKey(config));
    this.sync = new SyncCalls(config, this.redis, this.events, this.liveness);
  }

  /**
   * Enqueues a high-priority job and waits for its result, or throws the job's typed error:
   * answers within `timeoutMs` of `arrivedAt` whatever Redis does (see SyncCalls).
   */
  runSync<N extends SyncJobName>(
    name: N,
    data: JobData<N>,
    timeoutMs: number,
    arrivedAt = Date.now(),
  ): Promise<JobResult<N>> {
    const { queue, opts } = this.producer.target(name);
    return this.sync.run(queue, name, data, opts, timeoutMs, arrivedAt) as Promise<JobResult<N>>;
  }

  async enqueue<N extends JobName>(name: N, data: JobData<N>, opts: { jobId?: string } = {}): Promise<void> {
    await unavailableOnError(() => this.producer.enqueue(name, data, opts));
  }

  async addBatch<P extends ParentJobName, C extends ItemJobName>(
    parent: BatchParent<P>,
    children: readonly BatchChild<C>[],
  ): Promise<void> {
    await unavailableOnError(() => this.producer.addBatch(parent, children));
  }

  queue(name: QueueName): Queue {
    return this.producer.queue(name);
  }

  /** The queues themselves, for the dashboard (admin/queues.ts) to show, not to enqueue on. */
  dashboardQueues(): Queue[] {
    return [...this.producer.queues.values()];
  }

  async queueDepths(): Promise<Record<string, Record<string, number>>> {
    const counts = await Promise.all(
      [...this.producer.queues].map(async ([name, q]) => {
        const c = await q.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed');
        return [name, c] as const;
      }),
    );
    return Object.fromEntries(counts);
  }

  async ping(timeoutMs: number): Promise<boolean> {
    const timeout = new Promise<false>((r) => setTimeout(() => r(false), timeoutMs).unref());
    const pong = answers(this.redis, this.config.keyPrefix).catch(() => false);
    return Promise.race([pong, timeout]);
  }

  /** Closes within `deadlineMs` even when Redis is gone (BullMQ's close waits for a connection). */
  async close(deadlineMs = 1000): Promise<void> {
    this.sync.close();
    const closing = Promise.all([this.events.close(), this.producer.close()]);
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
}
