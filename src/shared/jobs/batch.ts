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
