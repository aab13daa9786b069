import { UnrecoverableError, type Job } from 'bullmq';
import { encodeError, ServiceError } from '../shared/errors.js';
import {
  isJobName,
  isSyncJob,
  JOBS,
  type JobData,
  type JobName,
  type JobResult,
  type SyncRefusal,
} from '../shared/jobs/index.js';
import { processAttendanceFrame } from './processors/attendance-frame.js';
import { processBatchCleanup } from './processors/batch-cleanup.js';
import { processBatchParent } from './processors/batch-parent.js';
import { processIdentify } from './processors/identify.js';
import { processEmbed } from './processors/embed.js';
import { processEmbedItem } from './processors/embed-item.js';
import { processEnrollItem } from './processors/enroll-item.js';
import { processEnrollItems } from './processors/enroll-items.js';
import type { ProcessorDeps } from './processors/types.js';
import { processWebhook } from './processors/webhook.js';
import { processReembed } from './processors/reembed-batch.js';
import { processSightingsSearch } from './processors/sightings-search.js';
import { processUnknownsGroup } from './processors/unknowns-group.js';

type Processors = {
  [N in JobName]: (data: JobData<N>, deps: ProcessorDeps, job: Job) => Promise<JobResult<N>>;
};

/** One processor per job of the registry (src/shared/jobs/registry.ts): a missing one does not compile. */
const PROCESSORS: Processors = {
  embed: processEmbed,
  'enroll-item': processEnrollItem,
  'enroll-items': processEnrollItems,
  'embed-item': processEmbedItem,
  'enroll-batch': processBatchParent,
  'embed-batch': processBatchParent,
  webhook: processWebhook,
  identify: processIdentify,
  'attendance-frame': processAttendanceFrame,
  'attendance-batch': processBatchParent,
  'batch-cleanup': processBatchCleanup,
  'unknowns-group': processUnknownsGroup,
  'sightings-search': processSightingsSearch,
  'reembed-batch': processReembed,
};

/**
 * Runs one BullMQ job: re-parses its payload (old payloads outlive deploys), calls the
 * processor, and turns failures into what BullMQ should do with them. Nothing is swallowed:
 * bad input -> UnrecoverableError (no retry), transient faults -> rethrown for backoff.
 */
export async function runJob(job: Job, deps: ProcessorDeps): Promise<unknown> {
  if (!isJobName(job.name)) {
    throw new UnrecoverableError(encodeError(new ServiceError('INVALID_REQUEST', `unknown job ${job.name}`)));
  }
  const parsed = JOBS[job.name].schema.safeParse(job.data);
  if (!parsed.success) {
    const err = new ServiceError(
      'INVALID_REQUEST',
      `job ${job.id} has an invalid payload: ${parsed.error.message}`,
    );
    throw new UnrecoverableError(encodeError(err));
  }
  try {
    return await run(job.name, parsed.data as JobData<JobName>, deps, job);
  } catch (err) {
    // A sync call refused on its input (no face in the photo) is the caller's answer, not a
    // failure of the system: the job completes with it, so BullMQ's failed set means faults only.
    if (err instanceof ServiceError && !err.retryable && isSyncJob(job.name)) {
      return { refused: encodeError(err) } satisfies SyncRefusal;
    }
    // The photo is not needed once the job has an outcome; do not leave it in Redis. A job that
    // completes (a result or a refusal) is removed as it completes (SYNC_JOB_OPTIONS): only a
    // failed one is left to clear (rewriting the data of every completed one cost a script call).
    if (JOBS[job.name].photoInPayload) {
      await job.updateData({ ...(job.data as object), image: '' }).catch(() => undefined);
    }
    if (err instanceof ServiceError) {
      throw err.retryable ? new Error(encodeError(err)) : new UnrecoverableError(encodeError(err));
    }
    throw err;
  }
}

/** The processor of `name` with the payload its schema parsed. */
function run<N extends JobName>(
  name: N,
  data: JobData<N>,
  deps: ProcessorDeps,
  job: Job,
): Promise<JobResult<N>> {
  const processor: Processors[N] = PROCESSORS[name];
  return processor(data, deps, job);
}
