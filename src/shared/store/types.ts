import type { AttendanceStatus } from '../attendance-status.js';
import type { FaceQuality } from '../face-types.js';

/**
 * What the store holds. Both implementations (SQLite, MongoDB) store exactly these shapes and
 * pass the same conformance suite (test/shared/store/conformance/, a file per repository).
 */
export interface UserInput {
  user_id: string;
  name: string;
  group: string | null;
  metadata: Record<string, unknown>;
}

export interface TemplateInput {
  model: string;
  embedding: Float32Array;
  detection_score: number;
  quality: FaceQuality;
  /** sha256 of the source photo: the same photo never becomes two templates of one user. */
  photo_sha256: string;
}

export interface TemplateSummary extends Omit<TemplateInput, 'embedding'> {
  template_id: string;
  created_at: string;
}

export interface User extends UserInput {
  enrolled_at: string;
  updated_at: string;
  templates: TemplateSummary[];
}

export interface GalleryEntry {
  user_id: string;
  name: string;
  group: string | null;
  template_id: string;
  /** The embedding model that made it: only templates of the active model are ever compared. */
  model: string;
  embedding: Float32Array;
}

export type EnrollOutcome = 'ENROLLED' | 'UPDATED';

export type BatchType = 'enrollment' | 'embed' | 'attendance';
export type BatchStatus = 'queued' | 'active' | 'completed' | 'completed_with_errors' | 'failed';
export const FINAL_BATCH_STATUSES: readonly BatchStatus[] = ['completed', 'completed_with_errors', 'failed'];
export const isFinalStatus = (s: BatchStatus) => FINAL_BATCH_STATUSES.includes(s);

/**
 * Where a batch's uploaded photos are: `stored` while it runs, then `deleted`, or
 * `pending_deletion` while a clean-up job retries a deletion that failed, `deletion_failed` when
 * it gave up (the files are still under the blob store), `kept` with KEEP_PHOTOS=true.
 */
export const PHOTO_STATES = ['stored', 'pending_deletion', 'deleted', 'deletion_failed', 'kept'] as const;
export type PhotosState = (typeof PHOTO_STATES)[number];

export interface BatchJob {
  job_id: string;
  type: BatchType;
  total: number;
  status: BatchStatus;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  webhook_url: string | null;
  /** whsec_... secret the webhook is signed with; never returned by the status endpoint. */
  webhook_secret: string | null;
  photos: PhotosState;
  /** Why the batch ended `failed` without every item failing (its final step gave up); else null. */
  failure_reason: string | null;
}

/** What updateJob may change. */
export type BatchJobPatch = Partial<
  Pick<BatchJob, 'status' | 'started_at' | 'finished_at' | 'photos' | 'failure_reason'>
>;

export interface ItemResult {
  job_id: string;
  index: number;
  /** Item reference the caller gave (user_id for enrollment, id for embed). */
  ref: string | null;
  /** ENROLLED, UPDATED, EMBEDDED, or an error code (NO_FACE_DETECTED, LOW_QUALITY, ...). */
  outcome: string;
  ok: boolean;
  detail: Record<string, unknown>;
  finished_at: string;
}

export interface WebhookDelivery {
  delivery_id: string;
  job_id: string;
  event: string;
  url: string;
  attempt: number;
  status_code: number | null;
  error: string | null;
  delivered: boolean;
  at: string;
}

export interface IdempotencyRecord {
  key: string;
  body_sha256: string;
  /** The first response, once there is one. */
  response: { status: number; body: unknown } | null;
  created_at: string;
}

/** A group of users (a site, a shift: the gallery segment a query can name) and its size. */
export interface GroupSummary {
  group: string | null;
  users: number;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface ErasureReceipt {
  user_id: string;
  templates_erased: number;
  erased_at: string;
  /** Attendance records of the user, kept (a business log) with their face crops detached. */
  attendance_records_kept: number;
}

/** One face seen in one camera frame, as the attendance processor reports it. */
export interface Sighting {
  /** `<job_id>:<frame>:<face>`: recording the same sighting twice (a retried frame) is a no-op. */
  sighting_id: string;
  kind: 'match' | 'unknown';
  user_id: string | null;
  name: string | null;
  group: string | null;
  camera_id: string;
  captured_at: string;
  similarity: number | null;
  distance: number | null;
  /** Distance of the second-nearest person minus `distance` (null: nobody else to compare with). */
  margin: number | null;
  /** The threshold this sighting was decided with (a match is `distance <= threshold`). */
  threshold: number | null;
  /** At or under this, two such sightings confirm their record (src/shared/evidence.ts). */
  confirm_threshold: number | null;
  /** At or under this, the sighting alone confirms its record. */
  strong_threshold: number | null;
  bbox: { x: number; y: number; width: number; height: number };
  /** Blob key of the aligned face crop (JPEG). */
  thumbnail: string | null;
  /** Kept for unknown faces so they can be enrolled later. */
  embedding: Float32Array | null;
  job_id: string;
}

export interface AttendanceRecord {
  attendance_id: string;
  kind: 'match' | 'unknown';
  user_id: string | null;
  name: string | null;
  group: string | null;
  camera_id: string;
  /** captured_at of the first sighting. */
  timestamp: string;
  last_seen: string;
  sightings: number;
  /**
   * How the evidence stands (src/shared/evidence.ts), judged when the record is read: confirmed,
   * pending (window still open), unconfirmed (window closed with too little); null for unknown faces.
   */
  status: AttendanceStatus | null;
  /** Sightings at or under their confirm threshold: two confirm the record. */
  confirming_sightings: number;
  /** Sightings at or under their strong threshold: one confirms the record. */
  strong_sightings: number;
  /** When the window closes: the latest sighting's captured_at plus the window. */
  window_closes_at: string;
  /** Of the best sighting. */
  similarity_score: number | null;
  distance: number | null;
  /** Of the best sighting: the second-nearest person's distance minus `distance`. */
  margin: number | null;
  /** The threshold the best sighting was decided with (null: recorded before thresholds were kept). */
  threshold: number | null;
  /** The best sighting's confirm and strong thresholds. */
  confirm_threshold: number | null;
  strong_threshold: number | null;
  bbox: { x: number; y: number; width: number; height: number };
  thumbnail: string | null;
  embedding: number[] | null;
  job_id: string;
  /** The unknown person this unknown face was grouped into (src/shared/unknowns.ts); else null. */
  unknown_id: string | null;
}

/** An unknown face with its embedding, as the grouping reads it (one record = one sighting). */
export interface UnknownSighting {
  attendance_id: string;
  sighting_id: string;
  unknown_id: string | null;
  camera_id: string;
  captured_at: string;
  /** Face box height (px): the bigger the face, the better its embedding; picks exemplars. */
  face_size: number;
  embedding: Float32Array;
  thumbnail: string | null;
  job_id: string;
}

/** Which unknown sightings: all filters are ANDed; ordered by (captured_at, sighting_id). */
export interface UnknownSightingQuery {
  job_id?: string;
  unknown_id?: string;
  /** true: only those grouped into an unknown person; false: only those not yet grouped. */
  grouped?: boolean;
  /** Only those the store recorded before this ISO time (retention). */
  recorded_before?: string;
}

/** A summary of an unknown person's sightings, rewritten by the (serial) grouping job. */
export interface UnknownPerson {
  unknown_id: string;
  sightings: number;
  first_seen: string;
  last_seen: string;
  cameras: string[];
  /** The sighting with the largest face, whose crop represents the person. */
  best_attendance_id: string;
  best_thumbnail: string | null;
}

export interface AttendanceQuery {
  user_id?: string;
  camera_id?: string;
  group?: string;
  kind?: 'match' | 'unknown';
  /** Match records with this status at `now` (unknown records have none). */
  status?: AttendanceStatus;
  /** ISO time statuses are judged at; default the current time. */
  now?: string;
  from?: string;
  to?: string;
  cursor?: string;
  limit: number;
}

/** A receiver registered once, told about every batch (in addition to a batch's own webhook_url). */
export interface WebhookEndpoint {
  endpoint_id: string;
  url: string;
  /** whsec_... secret this endpoint's deliveries are signed with. */
  secret: string;
  created_at: string;
  /** Set when the receiver answered 410 Gone: no more deliveries. */
  disabled_at: string | null;
  /**
   * The events it is sent (WEBHOOK_EVENTS); absent: `job.completed` and `job.failed`, all there
   * was before `attendance.recorded`, so endpoints registered earlier get nothing new unasked.
   */
  events?: readonly string[];
}
