import type { ItemJobName, JobData, JobName, JobResult, ParentJobName, SyncJobName } from './registry.js';

/** A batch's parent job: runs once every child has finished (failed ones included). */
export interface BatchParent<P extends ParentJobName = ParentJobName> {
  name: P;
  data: JobData<P>;
  /** The batch id: the flow's ids derive from it, which makes adding the batch idempotent. */
  jobId: string;
}

/** One item of a batch; its job id is `<parent jobId>-<index>`. */
export interface BatchChild<C extends ItemJobName = ItemJobName> {
  name: C;
  data: JobData<C>;
  index: number;
}

/**
 * Where jobs are made. Payloads are typed by the job registry (registry.ts), so a payload is
 * checked where it is made; options come from the registry too. Implementations: BullMQ (the API's
 * JobGateway, the worker's BullJobProducer) and in memory (InMemoryJobQueue, for route tests).
 */
export interface JobQueue {
  /** Queues one job; with `jobId`, queueing it again while the queue still knows it changes nothing. */
  enqueue<N extends JobName>(name: N, data: JobData<N>, opts?: { jobId?: string }): Promise<void>;
  /**
   * Queues a job a caller waits for and resolves with its result, or throws its typed error
   * (a refusal, 503 when no worker can run it, 504 TIMEOUT after `timeoutMs` from `arrivedAt`).
   */
  runSync<N extends SyncJobName>(
    name: N,
    data: JobData<N>,
    timeoutMs: number,
    arrivedAt?: number,
  ): Promise<JobResult<N>>;
  /** Queues a batch: its items, and its parent once they have all finished. */
  addBatch<P extends ParentJobName, C extends ItemJobName>(
    parent: BatchParent<P>,
    children: readonly BatchChild<C>[],
  ): Promise<void>;
}

/** What the worker uses: it makes jobs (webhooks, clean-ups, groupings), never waits on one. */
export type JobProducer = Pick<JobQueue, 'enqueue' | 'addBatch'>;
