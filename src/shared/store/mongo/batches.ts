import { byIndex, keysetPage } from '../cursor.js';
import type { BatchRepository } from '../repositories/batches.js';
import { isFinalStatus, type BatchJob, type BatchJobPatch, type ItemResult } from '../types.js';
import { NO_ID, type Collections, type ItemDoc, type JobDoc } from './collections.js';

const toJob = (d: JobDoc): BatchJob => ({
  job_id: d.job_id,
  type: d.type,
  total: d.total,
  status: d.status,
  created_at: d.created_at,
  started_at: d.started_at,
  finished_at: d.finished_at,
  webhook_url: d.webhook_url,
  webhook_secret: d.webhook_secret,
  // As SQLite's migration: before the field, a final status meant the photos had been deleted.
  photos: d.photos ?? (isFinalStatus(d.status) ? 'deleted' : 'stored'),
  failure_reason: d.failure_reason ?? null,
});
const toItem = (d: ItemDoc): ItemResult => ({
  job_id: d.job_id,
  index: d.index,
  ref: d.ref,
  outcome: d.outcome,
  ok: d.ok,
  detail: JSON.parse(d.detail) as Record<string, unknown>,
  finished_at: d.finished_at,
});
const ITEMS = byIndex((d: ItemDoc) => d.index);

/** Batches and their item results on MongoDB. */
export function mongoBatches(cols: Collections): BatchRepository {
  return {
    async createJob(job) {
      // A copy: insertOne adds `_id` to the object it is given.
      await cols.jobs.insertOne(toJob(job));
    },

    async getJob(jobId) {
      const doc = await cols.jobs.findOne({ job_id: jobId }, NO_ID);
      return doc ? toJob(doc) : undefined;
    },

    async updateJob(jobId, patch) {
      const set: BatchJobPatch = {};
      if (patch.status !== undefined) set.status = patch.status;
      if (patch.started_at !== undefined) set.started_at = patch.started_at;
      if (patch.finished_at !== undefined) set.finished_at = patch.finished_at;
      if (patch.photos !== undefined) set.photos = patch.photos;
      if (patch.failure_reason !== undefined) set.failure_reason = patch.failure_reason;
      if (Object.keys(set).length > 0) await cols.jobs.updateOne({ job_id: jobId }, { $set: set });
    },

    async putItemResult(r) {
      await cols.items.replaceOne(
        { job_id: r.job_id, index: r.index },
        {
          job_id: r.job_id,
          index: r.index,
          ref: r.ref,
          outcome: r.outcome,
          ok: r.ok,
          detail: JSON.stringify(r.detail),
          finished_at: r.finished_at,
        },
        { upsert: true },
      );
    },

    async getItemResult(jobId, index) {
      const doc = await cols.items.findOne({ job_id: jobId, index }, NO_ID);
      return doc ? toItem(doc) : undefined;
    },

    async listItemResults(jobId, q) {
      return keysetPage(
        q,
        ITEMS,
        (after = -1, limit) =>
          cols.items
            .find(
              {
                job_id: jobId,
                index: { $gt: after },
                ...(q.outcome !== undefined ? { outcome: q.outcome } : {}),
              },
              NO_ID,
            )
            .sort({ index: 1 })
            .limit(limit)
            .toArray(),
        (docs) => docs.map(toItem),
      );
    },

    async countItemResults(jobId) {
      // Two counts on the (job_id, ...) index rather than a $group with $cond (not in FerretDB v1).
      const [done, failed] = await Promise.all([
        cols.items.countDocuments({ job_id: jobId }),
        cols.items.countDocuments({ job_id: jobId, ok: false }),
      ]);
      return { done, failed };
    },
  };
}
