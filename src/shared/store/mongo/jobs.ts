import { decodeIndexCursor, encodeCursor } from '../cursor.js';
import {
  isFinalStatus,
  type BatchJob,
  type BatchJobPatch,
  type IdempotencyRecord,
  type ItemResult,
  type Page,
  type WebhookDelivery,
} from '../types.js';
import {
  NO_ID,
  isDuplicateKey,
  type Collections,
  type DeliveryDoc,
  type ItemDoc,
  type JobDoc,
} from './collections.js';
import { now } from './encoding.js';

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
const toDelivery = (d: DeliveryDoc): WebhookDelivery => ({
  delivery_id: d.delivery_id,
  job_id: d.job_id,
  event: d.event,
  url: d.url,
  attempt: d.attempt,
  status_code: d.status_code,
  error: d.error,
  delivered: d.delivered,
  at: d.at,
});

export async function createJob(cols: Collections, job: BatchJob): Promise<void> {
  // A copy: insertOne adds `_id` to the object it is given.
  await cols.jobs.insertOne(toJob(job));
}

export async function getJob(cols: Collections, jobId: string): Promise<BatchJob | undefined> {
  const doc = await cols.jobs.findOne({ job_id: jobId }, NO_ID);
  return doc ? toJob(doc) : undefined;
}

export async function updateJob(cols: Collections, jobId: string, patch: BatchJobPatch): Promise<void> {
  const set: BatchJobPatch = {};
  if (patch.status !== undefined) set.status = patch.status;
  if (patch.started_at !== undefined) set.started_at = patch.started_at;
  if (patch.finished_at !== undefined) set.finished_at = patch.finished_at;
  if (patch.photos !== undefined) set.photos = patch.photos;
  if (patch.failure_reason !== undefined) set.failure_reason = patch.failure_reason;
  if (Object.keys(set).length > 0) await cols.jobs.updateOne({ job_id: jobId }, { $set: set });
}

export async function putItemResult(cols: Collections, r: ItemResult): Promise<void> {
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
}

export async function getItemResult(
  cols: Collections,
  jobId: string,
  index: number,
): Promise<ItemResult | undefined> {
  const doc = await cols.items.findOne({ job_id: jobId, index }, NO_ID);
  return doc ? toItem(doc) : undefined;
}

export async function listItemResults(
  cols: Collections,
  jobId: string,
  q: { cursor?: string; limit: number; outcome?: string },
): Promise<Page<ItemResult>> {
  const after = decodeIndexCursor(q.cursor) ?? -1;
  const docs = await cols.items
    .find(
      { job_id: jobId, index: { $gt: after }, ...(q.outcome !== undefined ? { outcome: q.outcome } : {}) },
      NO_ID,
    )
    .sort({ index: 1 })
    .limit(q.limit + 1)
    .toArray();
  const page = docs.slice(0, q.limit);
  const last = page[page.length - 1];
  return {
    items: page.map(toItem),
    next_cursor: docs.length > q.limit && last ? encodeCursor(last.index) : null,
  };
}

export async function countItemResults(
  cols: Collections,
  jobId: string,
): Promise<{ done: number; failed: number }> {
  // Two counts on the (job_id, ...) index rather than a $group with $cond (not in FerretDB v1).
  const [done, failed] = await Promise.all([
    cols.items.countDocuments({ job_id: jobId }),
    cols.items.countDocuments({ job_id: jobId, ok: false }),
  ]);
  return { done, failed };
}

export async function claimIdempotencyKey(
  cols: Collections,
  key: string,
  bodySha256: string,
): Promise<{ claimed: true } | { claimed: false; record: IdempotencyRecord }> {
  try {
    // The unique index on `key` makes exactly one concurrent insert succeed.
    await cols.idempotency.insertOne({ key, body_sha256: bodySha256, response: null, created_at: now() });
    return { claimed: true };
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
  }
  const doc = await cols.idempotency.findOne({ key }, NO_ID);
  if (!doc) return claimIdempotencyKey(cols, key, bodySha256); // released in between
  return {
    claimed: false,
    record: {
      key: doc.key,
      body_sha256: doc.body_sha256,
      response: doc.response ? (JSON.parse(doc.response) as IdempotencyRecord['response']) : null,
      created_at: doc.created_at,
    },
  };
}

export async function setIdempotencyResponse(
  cols: Collections,
  key: string,
  response: { status: number; body: unknown },
): Promise<void> {
  await cols.idempotency.updateOne({ key }, { $set: { response: JSON.stringify(response) } });
}

export async function releaseIdempotencyKey(
  cols: Collections,
  key: string,
  createdAt?: string,
): Promise<void> {
  await cols.idempotency.deleteOne({
    key,
    response: null,
    ...(createdAt !== undefined ? { created_at: createdAt } : {}),
  });
}

/** Upsert by (delivery_id, attempt), as SQLite's INSERT OR REPLACE. */
export async function addWebhookDelivery(cols: Collections, d: WebhookDelivery): Promise<void> {
  await cols.deliveries.replaceOne({ delivery_id: d.delivery_id, attempt: d.attempt }, toDelivery(d), {
    upsert: true,
  });
}

export async function listWebhookDeliveries(cols: Collections, jobId: string): Promise<WebhookDelivery[]> {
  const docs = await cols.deliveries.find({ job_id: jobId }, NO_ID).sort({ at: 1, attempt: 1 }).toArray();
  return docs.map(toDelivery);
}
