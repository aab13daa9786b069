import type { BatchCleanupData, BatchCleanupResult } from '../../shared/jobs/index.js';
import { isFinalStatus } from '../../shared/store/types.js';
import type { BatchJob } from '../../shared/store/index.js';
import { summarise } from './batch-parent.js';
import { queueWebhooks } from './webhook-events.js';
import type { ProcessorDeps } from './types.js';

/**
 * A batch's after-care, retried with capped backoff (PHOTO_CLEANUP_ATTEMPTS,
 * PHOTO_CLEANUP_MAX_DELAY_MS) until it succeeds; when the retries are spent, the worker marks
 * the batch `photos: deletion_failed`. Every step is idempotent, so any attempt may repeat it.
 *
 * - Queued by the parent when the photos could not be deleted: deletes them.
 * - Queued by the worker when a parent gave up (`failure`): the batch is first marked `failed`
 *   with that reason, unless it already had its final status, and its webhook is queued.
 */
export async function processBatchCleanup(
  data: BatchCleanupData,
  deps: ProcessorDeps,
): Promise<BatchCleanupResult> {
  const batch = await deps.store.getJob(data.job_id);
  if (batch && data.failure !== undefined) await finaliseAbandoned(deps, batch, data.failure);
  if (deps.config.keepPhotos) {
    if (batch) await deps.store.updateJob(data.job_id, { photos: 'kept' });
    return { deleted: 0 };
  }
  const deleted = await deps.blobs.deletePrefix(data.job_id);
  if (batch) await deps.store.updateJob(data.job_id, { photos: 'deleted' });
  return { deleted };
}

/**
 * The parent gave up. A batch still without its final status becomes `failed` with the reason;
 * one that has it (the parent died between the status and the webhooks) keeps it. Either way
 * the webhooks are queued again: their ids are stable, so receivers already queued get nothing new.
 */
async function finaliseAbandoned(deps: ProcessorDeps, batch: BatchJob, failure: string): Promise<void> {
  let final = batch;
  if (!isFinalStatus(batch.status)) {
    const finished_at = new Date().toISOString();
    const failure_reason = `the batch could not be finalised: ${failure}`;
    await deps.store.updateJob(batch.job_id, {
      status: 'failed',
      finished_at,
      started_at: batch.started_at ?? finished_at,
      failure_reason,
    });
    final = { ...batch, status: 'failed', finished_at, failure_reason };
  }
  const counts = await deps.store.countItemResults(batch.job_id);
  await queueWebhooks(deps, final, await summarise(deps, final, counts));
}
