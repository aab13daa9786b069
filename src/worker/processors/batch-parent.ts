import type { Job } from 'bullmq';
import { decodeError } from '../../shared/errors.js';
import {
  BATCH_CLEANUP_JOB,
  UNKNOWNS_GROUP_JOB,
  type BatchCleanupData,
  type AttendanceTotals,
  type BatchParentData,
  type BatchSummary,
} from '../../shared/jobs/index.js';
import type { BatchJob, BatchStatus, PhotosState } from '../../shared/store/index.js';
import type { ProcessorDeps } from './types.js';
import { queueAttendanceRecorded, queueWebhooks } from './webhook-events.js';

/**
 * Runs once every item of a batch has finished (BullMQ flow parent). Items that exhausted
 * their retries have no result yet: they get one here, from BullMQ's record of the failure.
 * Then the batch's photos are deleted, it gets its final status and the webhook is queued.
 * Neither the status nor the webhook waits on the photos: if they cannot be deleted now, the
 * batch says `photos: pending_deletion` and a clean-up job retries the deletion for hours.
 */
export async function processBatchParent(
  data: BatchParentData,
  deps: ProcessorDeps,
  job: Job,
): Promise<BatchSummary> {
  const { store } = deps;
  const batch = await store.getJob(data.job_id);
  if (!batch) throw new Error(`batch ${data.job_id} is not in the store`);
  await recordExhaustedItems(batch, deps, job);
  const { done, failed } = await store.countItemResults(batch.job_id);
  const status: BatchStatus =
    failed === 0 ? 'completed' : failed === batch.total ? 'failed' : 'completed_with_errors';
  // Photos first: in the usual case a caller who sees the final status sees `photos: deleted`.
  const photos = await deletePhotosNow(deps, batch.job_id);
  const finished_at = batch.finished_at ?? new Date().toISOString();
  await store.updateJob(batch.job_id, {
    status,
    finished_at,
    started_at: batch.started_at ?? finished_at,
    photos,
  });
  const final = { ...batch, status, finished_at };
  const summary = await summarise(deps, final, { done, failed });
  if (batch.type === 'attendance') await queueAttendanceRecorded(deps, final);
  deps.logger.info(
    { job: batch.job_id, type: batch.type, status, total: batch.total, failed },
    'batch finished',
  );
  await queueWebhooks(deps, final, summary);
  // Its unknown faces are grouped by one serial job (src/shared/unknowns.ts); the id makes a
  // retried parent queue it once.
  if (batch.type === 'attendance') {
    await deps.jobs.enqueue(
      UNKNOWNS_GROUP_JOB,
      { job_id: batch.job_id },
      { jobId: `${batch.job_id}-unknowns` },
    );
  }
  if (photos === 'pending_deletion') await queueCleanup(deps, { job_id: batch.job_id });
  return summary;
}

/** One try; a failure is left to the clean-up job. */
async function deletePhotosNow(deps: ProcessorDeps, jobId: string): Promise<PhotosState> {
  if (deps.config.keepPhotos) return 'kept';
  try {
    await deps.blobs.deletePrefix(jobId);
    return 'deleted';
  } catch (err) {
    deps.logger.warn({ job: jobId, err }, 'could not delete the batch photos; a clean-up job will retry');
    return 'pending_deletion';
  }
}

/**
 * Queues the batch's clean-up. Its id is derived from the batch (and whether the parent gave
 * up), so queueing it again while it is still known to BullMQ changes nothing.
 */
export async function queueCleanup(deps: ProcessorDeps, data: BatchCleanupData): Promise<void> {
  const jobId = `${data.job_id}-cleanup${data.failure === undefined ? '' : '-abandoned'}`;
  await deps.jobs.enqueue(BATCH_CLEANUP_JOB, data, { jobId });
}

/** The webhook's and the job result's summary of a batch. */
export async function summarise(
  deps: ProcessorDeps,
  batch: BatchJob,
  counts: { done: number; failed: number },
): Promise<BatchSummary> {
  return {
    total: batch.total,
    ...counts,
    status: batch.status,
    ...(batch.type === 'attendance' ? { attendance: await attendanceTotals(deps, batch.job_id) } : {}),
  };
}

async function recordExhaustedItems(batch: BatchJob, deps: ProcessorDeps, job: Job): Promise<void> {
  const { done } = await deps.store.countItemResults(batch.job_id);
  if (done >= batch.total) return;
  const seen = new Set<number>();
  for (let cursor: string | undefined; ;) {
    const page = await deps.store.listItemResults(batch.job_id, { cursor, limit: 1000 });
    for (const r of page.items) seen.add(r.index);
    if (!page.next_cursor) break;
    cursor = page.next_cursor;
  }
  // Child job ids are `<job_id>-<index>`, of the first item when a job holds several (enrollment:
  // consecutive items); BullMQ keeps why each ignored child failed. A job that completed has
  // recorded every item of its own, so an item without a result is in the failed job with the
  // greatest first index at or below it.
  const failures = await job.getIgnoredChildrenFailures();
  const failed = Object.entries(failures)
    .map(([key, reason]) => [Number(key.slice(key.lastIndexOf('-') + 1)), reason] as const)
    .sort((a, b) => a[0] - b[0]);
  for (let index = 0; index < batch.total; index++) {
    if (seen.has(index)) continue;
    const reason = failed.findLast(([first]) => first <= index)?.[1];
    const known = decodeError(reason);
    const outcome = known?.code ?? 'INTERNAL_ERROR';
    // Retries spent (or a payload the worker could not read): the system failed this item.
    deps.metrics?.countItem(batch.type, outcome, 'failed');
    await deps.store.putItemResult({
      job_id: batch.job_id,
      index,
      ref: null,
      outcome,
      ok: false,
      detail: { error: known?.message ?? reason ?? 'the item failed after all retries' },
      finished_at: new Date().toISOString(),
    });
  }
}

/**
 * Frames, faces, matched and unknown faces over the batch, and its match records by status
 * (confirmed / pending / unconfirmed), for the webhook and the job result.
 */
async function attendanceTotals(deps: ProcessorDeps, jobId: string): Promise<AttendanceTotals> {
  const totals = { frames: 0, faces: 0, matched: 0, unknown: 0, confirmed: 0, pending: 0, unconfirmed: 0 };
  for (const r of await deps.store.attendanceOfJob(jobId)) if (r.status) totals[r.status]++;
  for (let cursor: string | undefined; ;) {
    const page = await deps.store.listItemResults(jobId, { cursor, limit: 1000 });
    for (const r of page.items) {
      totals.frames++;
      totals.faces += Number(r.detail.faces ?? 0);
      totals.matched += Number(r.detail.matched ?? 0);
      totals.unknown += Number(r.detail.unknown ?? 0);
    }
    if (!page.next_cursor) return totals;
    cursor = page.next_cursor;
  }
}
