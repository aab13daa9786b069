import type { Job } from 'bullmq';
import { decodeError } from '../shared/errors.js';
import { BATCH_CLEANUP_JOB, BatchCleanupData, BatchParentData, isBatchParent } from '../shared/jobs/index.js';
import { queueCleanup } from './processors/batch-parent.js';
import type { ProcessorDeps } from './processors/types.js';

/** True when BullMQ will not run the job again (its attempts are spent, or it was unrecoverable). */
export const gaveUp = (job: Job) => Boolean(job.finishedOn) || job.attemptsMade >= (job.opts.attempts ?? 1);

/**
 * What must still happen when a batch job has failed for good, so that no batch stays `active`
 * and no photo is forgotten:
 * - a batch parent: a clean-up job (retried for hours) marks the batch `failed` with the reason,
 *   queues its webhook and deletes its photos;
 * - a batch clean-up: the batch says `photos: deletion_failed` (the files are still there).
 */
export async function afterGivingUp(job: Job, err: Error, deps: ProcessorDeps): Promise<void> {
  if (isBatchParent(job.name)) {
    const { job_id } = BatchParentData.parse(job.data);
    const failure = decodeError(err.message)?.message ?? err.message;
    deps.logger.error({ job: job_id, err: failure }, 'the batch could not be finalised; marking it failed');
    await queueCleanup(deps, { job_id, failure });
  } else if (job.name === BATCH_CLEANUP_JOB) {
    const { job_id } = BatchCleanupData.parse(job.data);
    deps.logger.error(
      { job: job_id, err: err.message },
      'gave up deleting the batch photos; they are still in the blob store',
    );
    await deps.store.updateJob(job_id, { photos: 'deletion_failed' });
  }
}
