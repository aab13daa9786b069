import { Queue, QueueEvents } from 'bullmq';
import type { Config } from '../shared/config.js';
import { JOBS, REEMBED_JOB, type ReembedResult } from '../shared/jobs/index.js';
import { queueOptions } from '../shared/jobs/queues.js';
import { workerConnection } from '../shared/redis-connections.js';

/**
 * Queues the re-embed of one enrollment batch (src/worker/processors/reembed-batch.ts) and,
 * with `waitMs`, waits for a worker of the active pack to finish it. Its payload names the
 * batch; running it twice is harmless (templates already of the active model are skipped).
 */
export async function queueReembed(
  config: Config,
  batchId: string,
  waitMs?: number,
): Promise<{ job_id: string; result?: ReembedResult }> {
  // BullMQ does not close connections it is handed: both are disconnected below.
  const connection = workerConnection(config);
  const eventsConnection = waitMs === undefined ? undefined : workerConnection(config);
  const spec = JOBS[REEMBED_JOB];
  const queue = new Queue(spec.queue, queueOptions(config, connection));
  const events = eventsConnection && new QueueEvents(spec.queue, queueOptions(config, eventsConnection));
  try {
    await events?.waitUntilReady();
    // Retried as batch items are (it is idempotent: templates already re-embedded are skipped).
    const job = await queue.add(REEMBED_JOB, spec.schema.parse({ job_id: batchId }), spec.options(config));
    if (!events || waitMs === undefined) return { job_id: job.id ?? '' };
    const result = (await job.waitUntilFinished(events, waitMs)) as ReembedResult;
    return { job_id: job.id ?? '', result };
  } finally {
    await events?.close();
    await queue.close();
    connection.disconnect();
    eventsConnection?.disconnect();
  }
}
