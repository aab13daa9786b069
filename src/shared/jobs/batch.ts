import { z } from 'zod';
import { isErrorCode, type ErrorCode } from '../errors.js';
import { FacePolicy } from '../schemas.js';

/**
 * Batch jobs are BullMQ flows: a parent per batch (runs when every item has finished, writes
 * the summary and sends the webhook) and one child per item, so one bad photo never fails the
 * batch. Payloads carry blob keys, never photo bytes.
 */
export const ENROLL_BATCH_JOB = 'enroll-batch' as const;
export const ENROLL_ITEM_JOB = 'enroll-item' as const;
export const EMBED_BATCH_JOB = 'embed-batch' as const;
export const EMBED_ITEM_JOB = 'embed-item' as const;

export const BatchParentData = z.object({ job_id: z.string() });
export type BatchParentData = z.infer<typeof BatchParentData>;

/**
 * A batch's after-care, retried for hours with capped backoff: deletes its photos when the
 * parent could not (a full or read-only disk, GridFS away). With `failure`, the parent gave up:
 * the batch is first marked failed with that reason and its job.failed webhook queued.
 */
export const BATCH_CLEANUP_JOB = 'batch-cleanup' as const;

export const BatchCleanupData = z.object({ job_id: z.string(), failure: z.string().optional() });
export type BatchCleanupData = z.infer<typeof BatchCleanupData>;

export interface BatchCleanupResult {
  /** Blobs deleted (0 with KEEP_PHOTOS). */
  deleted: number;
}

export const EnrollItemData = z.object({
  job_id: z.string(),
  index: z.number().int().nonnegative(),
  user_id: z.string(),
  name: z.string(),
  group: z.string().nullable(),
  metadata: z.record(z.string(), z.unknown()),
  /** Blob keys of the photos, in the order given (without those in `refused_photos`). */
  photos: z.array(z.string()).min(1),
  /**
   * Photos of the item refused at intake (not base64, a file the manifest names but the upload
   * lacks), by their position among all its photos; the stored ones fill the other positions.
   */
  refused_photos: z
    .array(
      z.object({
        index: z.number().int().nonnegative(),
        error_code: z.custom<ErrorCode>(isErrorCode),
        error: z.string(),
        details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
      }),
    )
    .optional(),
  mode: z.enum(['add', 'replace']),
  /** ISO time the batch was accepted: an erasure after it wins over this item. */
  accepted_at: z.string(),
});
export type EnrollItemData = z.infer<typeof EnrollItemData>;

/**
 * Several people of one enrollment batch in one child job (ENROLL_PEOPLE_PER_JOB, consecutive
 * items; the job id is `<job_id>-<first person's index>`). Each person is still its own item:
 * its own outcome, photos and erasure. A BullMQ job costs its worker a fetch, a lock and a
 * finish, ~46 Redis commands (in scripts) and several socket writes on the worker's main
 * thread; a person's own work is ~6 ms of that thread: so the job's cost is shared.
 */
export const ENROLL_ITEMS_JOB = 'enroll-items' as const;
export const MAX_PEOPLE_PER_JOB = 64;
export const EnrollItemsData = z.object({
  job_id: z.string(),
  people: z.array(EnrollItemData).min(1).max(MAX_PEOPLE_PER_JOB),
});
export type EnrollItemsData = z.infer<typeof EnrollItemsData>;

export const EmbedItemData = z.object({
  job_id: z.string(),
  index: z.number().int().nonnegative(),
  ref: z.string().nullable(),
  photo: z.string(),
  face: FacePolicy,
});
export type EmbedItemData = z.infer<typeof EmbedItemData>;

/** Item jobs return a small summary; the full result is in the store. */
export interface ItemJobResult {
  outcome: string;
  ok: boolean;
}

/**
 * An attendance batch's summary: frames and faces, then the match records its sightings are in
 * by status when the batch ended (src/shared/evidence.ts); a record also holding sightings of
 * other batches is counted in each.
 */
export interface AttendanceTotals {
  frames: number;
  faces: number;
  matched: number;
  unknown: number;
  confirmed: number;
  pending: number;
  unconfirmed: number;
}

export interface BatchSummary {
  total: number;
  done: number;
  failed: number;
  status: string;
  attendance?: AttendanceTotals;
}
