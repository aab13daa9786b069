import { ServiceError } from '../errors.js';
import type { BatchChild, BatchParent, JobQueue } from './job-queue.js';
import {
  JOBS,
  type ItemJobName,
  type JobData,
  type JobName,
  type JobResult,
  type ParentJobName,
  type SyncJobName,
} from './registry.js';

/** A job this queue was given, as BullMQ would have held it. */
export interface QueuedJob {
  name: JobName;
  queue: string;
  jobId: string | undefined;
  data: unknown;
  /** The flow parent's job id, for a batch's items. */
  parentId?: string;
}

/** Answers a sync job in the caller's process (may throw the job's typed error). */
export type SyncHandler<N extends SyncJobName> = (data: JobData<N>) => JobResult<N> | Promise<JobResult<N>>;
export type SyncHandlers = { [N in SyncJobName]?: SyncHandler<N> };

/**
 * A JobQueue in memory, for running the API's routes without Redis, a worker or the models.
 * Every payload is parsed with its registry schema as it is queued, so a route that shapes one
 * wrongly fails its test at once. Nothing runs the queued jobs: a test reads `jobs` and answers
 * sync calls with `handlers` (none for a job: 503 SERVICE_UNAVAILABLE, as with no worker).
 * Job ids are kept as BullMQ keeps them: a second job with a known id is ignored.
 */
export class InMemoryJobQueue implements JobQueue {
  readonly jobs: QueuedJob[] = [];
  /** Set to make the next enqueue or addBatch fail with it (then cleared), as a Redis fault would. */
  failNext: Error | undefined;

  constructor(readonly handlers: SyncHandlers = {}) {}

  /** The jobs of one name, their payloads typed. */
  named<N extends JobName>(name: N): (QueuedJob & { data: JobData<N> })[] {
    return this.jobs.filter((j): j is QueuedJob & { data: JobData<N> } => j.name === name);
  }

  enqueue<N extends JobName>(name: N, data: JobData<N>, opts: { jobId?: string } = {}): Promise<void> {
    return this.attempt(() => this.push(name, data, opts.jobId));
  }

  runSync<N extends SyncJobName>(name: N, data: JobData<N>): Promise<JobResult<N>> {
    return this.attempt(() => {
      const parsed = this.parse(name, data);
      const handler: SyncHandler<N> | undefined = this.handlers[name];
      if (!handler) throw new ServiceError('SERVICE_UNAVAILABLE', 'no worker is running; try again shortly');
      return handler(parsed);
    });
  }

  addBatch<P extends ParentJobName, C extends ItemJobName>(
    parent: BatchParent<P>,
    children: readonly BatchChild<C>[],
  ): Promise<void> {
    return this.attempt(() => {
      // Checked before anything is kept: a flow is added whole or not at all.
      this.parse(parent.name, parent.data);
      for (const c of children) this.parse(c.name, c.data);
      for (const c of children) this.push(c.name, c.data, `${parent.jobId}-${c.index}`, parent.jobId);
      this.push(parent.name, parent.data, parent.jobId);
    });
  }

  private push(name: JobName, data: unknown, jobId: string | undefined, parentId?: string): void {
    const parsed = this.parse(name, data);
    if (jobId !== undefined && this.jobs.some((j) => j.jobId === jobId)) return;
    this.jobs.push({
      name,
      queue: JOBS[name].queue,
      jobId,
      data: parsed,
      ...(parentId === undefined ? {} : { parentId }),
    });
  }

  private parse<N extends JobName>(name: N, data: unknown): JobData<N> {
    const parsed = JOBS[name].schema.safeParse(data);
    if (!parsed.success) throw new Error(`job ${name}: invalid payload: ${parsed.error.message}`);
    return parsed.data as JobData<N>;
  }

  /** Runs `fn` as a call to Redis would: a fault (failNext) or a throw is a rejected promise. */
  private attempt<T>(fn: () => T | Promise<T>): Promise<T> {
    const err = this.failNext;
    this.failNext = undefined;
    try {
      if (err) throw err;
      return Promise.resolve(fn());
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
  }
}
