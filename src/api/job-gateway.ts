import { FlowProducer, Queue, QueueEvents, type Job } from 'bullmq';
import { answers, type RedisClient } from '../shared/redis-client.js';
import type { Config } from '../shared/config.js';
import { unavailableOnError } from './redis-errors.js';
import { SyncCalls } from './sync-calls.js';
import type { EnrollItemData, JobName, JobResults } from '../shared/jobs/index.js';
import {
  apiConnection,
  galleryStreamKey,
  publishGalleryChange,
  ITEM_JOB_OPTIONS,
  parentJobOptions,
  QUEUE_NAMES,
  QUEUE_OF,
  queueOptions,
  workerConnection,
  workerHeartbeatKey,
  type QueueName,
} from '../shared/queues.js';

/**
 * Queued jobs an erasure reads at a time. All at once, 10,000 queued items took 0.7-1.2 s in one
 * reply, which a larger backlog would push past the API's 2 s command timeout (a 503 erasure);
 * by ids then pages, 20,000 took 17-77 ms for the ids and at most 74 ms per page.
 */
const ERASURE_PAGE = 500;

/**
 * The API's only door to BullMQ: enqueue, wait for a sync result, look at workers and queues.
 * Redis trouble surfaces as SERVICE_UNAVAILABLE at once (the connection does not queue
 * commands while offline) or within COMMAND_TIMEOUT_MS (Redis connected but not answering).
 */
export class JobGateway {
  readonly redis: RedisClient;
  private readonly queues: Map<QueueName, Queue>;
  private readonly events: QueueEvents;
  private readonly eventsConnection: RedisClient;
  private readonly sync: SyncCalls;
  private readonly flows: FlowProducer;

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
    this.sync = new SyncCalls(config, this.redis, this.events);
    this.flows = new FlowProducer({ connection: this.redis, prefix: config.keyPrefix });
    this.flows.on('error', () => undefined);
  }

  /**
   * Enqueues a high-priority job and waits for its result, or throws the job's typed error:
   * answers within `timeoutMs` of `arrivedAt` whatever Redis does (see SyncCalls).
   */
  runSync<N extends JobName>(
    name: N,
    data: unknown,
    timeoutMs: number,
    arrivedAt = Date.now(),
  ): Promise<JobResults[N]> {
    return this.sync.run(this.queue(QUEUE_OF[name]), name, data, timeoutMs, arrivedAt);
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
    const ids = await unavailableOnError(() =>
      queue.getRanges(['waiting', 'prioritized', 'delayed', 'waiting-children'], 0, -1),
    );
    const removed: { job_id: string; index: number; photos: string[] }[] = [];
    for (let i = 0; i < ids.length; i += ERASURE_PAGE) {
      const page = ids.slice(i, i + ERASURE_PAGE);
      const jobs = await unavailableOnError(() => Promise.all(page.map((id) => queue.getJob(id))));
      removed.push(...(await this.removeUsersJobs(jobs, userId)));
    }
    return removed;
  }

  /** Whether an enrollment item of this user is running now (its store writes need the tombstone). */
  async enrollmentInFlight(userId: string): Promise<boolean> {
    const queue = this.queue(QUEUE_OF['enroll-item']);
    // Active jobs are at most workers x concurrency: one read of them all.
    const active = await unavailableOnError(() => queue.getActive());
    return active.some(
      (job) => job.name === 'enroll-item' && (job.data as Partial<EnrollItemData>).user_id === userId,
    );
  }

  private async removeUsersJobs(
    jobs: (Job | undefined)[],
    userId: string,
  ): Promise<{ job_id: string; index: number; photos: string[] }[]> {
    const removed: { job_id: string; index: number; photos: string[] }[] = [];
    for (const job of jobs) {
      if (!job) continue; // taken and finished since the ids were read
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

  /** What each live worker announced (a SIGKILLed one is left out ~4 s after its last beat). */
  async workerAnnouncements(): Promise<unknown[]> {
    const ids = await this.sync.liveWorkerIds();
    if (ids.length === 0) return [];
    const keys = ids.map((id) => workerHeartbeatKey(this.config, id));
    const values = await unavailableOnError(() => this.redis.mget(...keys));
    return values.filter((v): v is string => v !== null).map((v) => JSON.parse(v) as unknown);
  }

  /** The queues themselves, for the dashboard (admin/queues.ts) to show, not to enqueue on. */
  dashboardQueues(): Queue[] {
    return [...this.queues.values()];
  }

  async queueDepths(): Promise<Record<string, Record<string, number>>> {
    const counts = await Promise.all(
      [...this.queues].map(async ([name, q]) => {
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
}
