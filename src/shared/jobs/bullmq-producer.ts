import { FlowProducer, Queue } from 'bullmq';
import type { RedisClient } from '../redis-client.js';
import type { Config } from '../config.js';
import type { BatchChild, BatchParent, JobProducer } from './job-queue.js';
import { QUEUE_NAMES, queueOptions, type QueueName } from './queues.js';
import { JOBS, type ItemJobName, type JobData, type JobName, type ParentJobName } from './registry.js';

/**
 * Jobs made on BullMQ: one Queue per queue name over one connection, and a FlowProducer for
 * batches (made on first use: the worker never adds one). Options are the registry's; the caller
 * adds at most a job id. BullMQ does not close the connection it is given: its owner does.
 */
export class BullJobProducer implements JobProducer {
  readonly queues: ReadonlyMap<QueueName, Queue>;
  private flows: FlowProducer | undefined;

  constructor(
    private readonly config: Config,
    private readonly connection: RedisClient,
  ) {
    this.queues = new Map(QUEUE_NAMES.map((n) => [n, new Queue(n, queueOptions(config, connection))]));
  }

  queue(name: QueueName): Queue {
    const q = this.queues.get(name);
    if (!q) throw new Error(`no queue ${name}`);
    return q;
  }

  /** The queue job `name` goes on, and its options with `jobId` (when given). */
  target<N extends JobName>(name: N, jobId?: string) {
    const spec = JOBS[name];
    return {
      queue: this.queue(spec.queue),
      opts: { ...spec.options(this.config), ...(jobId === undefined ? {} : { jobId }) },
    };
  }

  async enqueue<N extends JobName>(name: N, data: JobData<N>, opts: { jobId?: string } = {}): Promise<void> {
    const { queue, opts: jobOpts } = this.target(name, opts.jobId);
    await queue.add(name, data, jobOpts);
  }

  /**
   * One flow: the parent runs after every child has finished, failed children included
   * (`ignoreDependencyOnFailure`), so one bad item never blocks the batch. Job ids are derived
   * from the batch id, which makes the whole add idempotent.
   */
  async addBatch<P extends ParentJobName, C extends ItemJobName>(
    parent: BatchParent<P>,
    children: readonly BatchChild<C>[],
  ): Promise<void> {
    if (!this.flows) {
      this.flows = new FlowProducer({ connection: this.connection, prefix: this.config.keyPrefix });
      this.flows.on('error', () => undefined);
    }
    await this.flows.add({
      name: parent.name,
      queueName: JOBS[parent.name].queue,
      data: parent.data,
      opts: { ...JOBS[parent.name].options(this.config), jobId: parent.jobId },
      children: children.map((c) => ({
        name: c.name,
        queueName: JOBS[c.name].queue,
        data: c.data,
        opts: {
          ...JOBS[c.name].options(this.config),
          jobId: `${parent.jobId}-${c.index}`,
          ignoreDependencyOnFailure: true,
        },
      })),
    });
  }

  /** Redis trouble surfaces where a call fails; without a listener BullMQ also logs every retry. */
  quietly(): this {
    for (const q of this.queues.values()) q.on('error', () => undefined);
    return this;
  }

  async close(): Promise<void> {
    await Promise.all([this.flows?.close(), ...[...this.queues.values()].map((q) => q.close())]);
  }
}
