/**
 * Request and response shapes of the HTTP API, as zod schemas: the API validates with them,
 * the worker re-parses job payloads built from them, and /openapi.json is generated from them.
 * Field names follow the integration guide.
 */
import { z } from 'zod';
import { WEBHOOK_EVENTS } from './jobs/webhook.js';
import { ATTENDANCE_STATUSES } from './evidence.js';
import { DISTANCE_METRICS } from './face-math.js';
import { PHOTO_STATES } from './store/types.js';

export const FacePolicy = z
  .enum(['largest', 'center', 'error'])
  .describe('Which face to use when there are several: the largest, the one nearest the centre, or refuse');

export const EmbedRequest = z.object({
  image: z.string().min(1).describe('Base64 JPEG, PNG or WebP; a data-URL prefix is accepted'),
  face: FacePolicy.default('largest'),
});
export type EmbedRequest = z.infer<typeof EmbedRequest>;

const Point = z.tuple([z.number(), z.number()]);
export const BoundingBox = z.object({ x: z.number(), y: z.number(), width: z.number(), height: z.number() });

export const EmbedResponse = z.object({
  embedding: z
    .array(z.number())
    .min(1)
    .describe(
      "L2-normalised; the pack's embedding_dim values (512 with the shipped pack, GET /api/v1/models)",
    ),
  detection_score: z.number(),
  bbox: BoundingBox,
  landmarks: z.array(Point).length(5).describe('left eye, right eye, nose, mouth left, mouth right'),
  faces_detected: z.number().int(),
  other_faces_ignored: z
    .number()
    .int()
    .optional()
    .describe("with face 'error': other faces in the photo, judged bystanders of the main one"),
  model: z.string(),
  quality: z.object({ face_size: z.number(), sharpness: z.number() }),
  processing_ms: z.number(),
});
export type EmbedResponse = z.infer<typeof EmbedResponse>;

/**
 * A non-empty array of finite numbers, checked by one loop instead of z.array(z.number()):
 * /compare carries millions of numbers and element-wise schema checks cost as much as parsing
 * the JSON (250 ms vs 30 ms for 10,000 references). The first bad element is named in the path;
 * the metadata keeps the JSON Schema accurate.
 */
const Embedding = z
  .custom<number[]>()
  .superRefine((v, ctx) => {
    if (!Array.isArray(v) || v.length === 0) {
      ctx.addIssue({ code: 'custom', message: 'must be a non-empty array of numbers' });
      return;
    }
    const bad = v.findIndex((x) => typeof x !== 'number' || !Number.isFinite(x));
    if (bad >= 0) ctx.addIssue({ code: 'custom', message: 'must be a finite number', path: [bad] });
  })
  .meta({ type: 'array', items: { type: 'number' }, minItems: 1 });

/** The `model` /embed answers with: optional, and when given it must be the active pack's. */
const EmbeddingModel = z.string().min(1).max(200);

export const CompareRequest = z.object({
  query_embedding: Embedding,
  model: EmbeddingModel.optional().describe(
    "query_embedding's model, as /embed returns it; another than the active pack's is 422 MODEL_MISMATCH",
  ),
  reference_embeddings: z.array(
    z.object({
      id: z.union([z.string(), z.number()]),
      embedding: Embedding,
      model: EmbeddingModel.optional().describe(
        'a reference of another model than the query is skipped, never compared',
      ),
    }),
  ),
  distance_metric: z.enum(DISTANCE_METRICS).default('cosine'),
  threshold: z
    .number()
    .nonnegative()
    .optional()
    .describe('Default: the balanced threshold of /api/v1/models'),
  top_k: z.number().int().positive().optional().describe('How many matches to return (default 10)'),
});
export type CompareRequest = z.infer<typeof CompareRequest>;

const Match = z.object({
  id: z.union([z.string(), z.number()]),
  distance: z.number(),
  similarity: z.number(),
});
export const CompareResponse = z.object({
  best_match: Match,
  matches: z.array(Match),
  metric: z.enum(DISTANCE_METRICS),
  threshold: z.number(),
  is_match: z.boolean(),
  skipped_other_model: z
    .number()
    .int()
    .optional()
    .describe("references left out because their model is not the query's (only when some were)"),
});
export type CompareResponse = z.infer<typeof CompareResponse>;

export const ErrorResponse = z.object({ error: z.string(), error_code: z.string() }).passthrough();

/**
 * Only characters a URL path carries unchanged, and never the dot segments "." and "..":
 * routers (and the URL standard) collapse those, so such a user could be enrolled and listed but
 * never fetched or erased at /users/:id.
 */
export const UserId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_.@:-]+$/, 'letters, digits and _ . @ : - only')
  .refine((id) => id !== '.' && id !== '..', { message: 'must not be "." or ".."' });

/**
 * Metadata is stored with the user and travels in the item's job: one 165 MB request grew Redis
 * by 157 MB for up to a day. 16 KB is room for any profile an attendance system keeps.
 */
export const MAX_METADATA_CHARS = 16_384;

/** Photos one person may bring in one enrollment item (JSON `images` or manifest rows). */
export const MAX_PHOTOS_PER_PERSON = 10;

export const EnrollmentItemFields = z.object({
  user_id: UserId,
  name: z.string().min(1).max(256),
  image: z.string().min(1).optional(),
  images: z.array(z.string().min(1)).min(1).max(MAX_PHOTOS_PER_PERSON).optional(),
  group: z.string().min(1).max(128).optional(),
  metadata: z
    .record(z.string(), z.unknown())
    .refine((m) => JSON.stringify(m).length <= MAX_METADATA_CHARS, {
      message: `must be at most ${MAX_METADATA_CHARS} characters as JSON`,
    })
    .optional()
    .describe(`Free-form, stored with the user; at most ${MAX_METADATA_CHARS} characters as JSON`),
});

export const EnrollmentItem = EnrollmentItemFields.refine(
  (i) => (i.image === undefined) !== (i.images === undefined),
  {
    message: 'give exactly one of image or images',
    path: ['image'],
  },
);
export type EnrollmentItem = z.infer<typeof EnrollmentItem>;

/**
 * A caller's own Standard Webhooks secret for a batch's webhook_url: `whsec_` and the base64 of
 * at least 16 random bytes (the spec recommends 24 to 64). Known to the receiver before the
 * batch is sent, so the first delivery verifies (a secret generated and returned in the 202
 * could be beaten by a delivery ~100 ms later).
 */
export const WebhookSecret = z
  .string()
  .regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, 'must be whsec_ followed by base64 (Standard Webhooks)')
  .refine(
    (s) => Buffer.from(s.slice(6), 'base64').length >= 16,
    'must carry at least 16 bytes of key (24 or more recommended)',
  )
  .describe(
    "Standard Webhooks secret (whsec_ + base64 of >= 16 random bytes) to sign this batch's webhook_url with",
  );

export const EnrollmentRequest = z.object({
  items: z.array(EnrollmentItem).min(1),
  webhook_url: z.string().url().optional(),
  webhook_secret: WebhookSecret.optional(),
  options: z
    .object({
      /** add: a known user gets another template; replace: the new photos replace the old ones. */
      mode: z.enum(['add', 'replace']).default('add'),
    })
    .default({ mode: 'add' }),
});
export type EnrollmentRequest = z.infer<typeof EnrollmentRequest>;

export const EmbedBatchRequest = z.object({
  items: z.array(z.object({ id: z.string().max(256).optional(), image: z.string().min(1) })).min(1),
  face: FacePolicy.default('largest'),
  webhook_url: z.string().url().optional(),
  webhook_secret: WebhookSecret.optional(),
});
export type EmbedBatchRequest = z.infer<typeof EmbedBatchRequest>;

export const BatchAccepted = z.object({
  job_id: z.string(),
  status_url: z.string(),
  items: z.number().int(),
});

export const JobStatus = z.object({
  job_id: z.string(),
  type: z.enum(['enrollment', 'embed', 'attendance']),
  status: z.enum(['queued', 'active', 'completed', 'failed', 'completed_with_errors']),
  progress: z.object({ total: z.number().int(), done: z.number().int(), failed: z.number().int() }),
  created_at: z.string(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  photos: z
    .enum(PHOTO_STATES)
    .describe(
      'The uploaded photos: stored while the batch runs, then deleted; pending_deletion while a failed deletion is retried, deletion_failed when retries gave up, kept with KEEP_PHOTOS',
    ),
  failure_reason: z
    .string()
    .nullable()
    .describe('Why the batch failed when its final step gave up (not set when every item failed)'),
});
export type JobStatus = z.infer<typeof JobStatus>;

export const PageQuery = z.object({
  cursor: z.string().max(512).optional().describe("The previous page's next_cursor"),
  limit: z.coerce.number().int().min(1).max(1000).default(100).describe('Items per page'),
});

/** A batch's item results, paged, optionally only those with one outcome. */
export const ResultsQuery = PageQuery.extend({
  outcome: z
    .string()
    .regex(/^[A-Z_]{1,64}$/)
    .optional()
    .describe('Only items with this outcome, e.g. ENROLLED, NO_FACE_DETECTED, DUPLICATE_PERSON'),
});

export const IdentifyRequest = z.object({
  image: z.string().min(1),
  group: z.string().min(1).max(128).optional().describe('Search only this group (default: every group)'),
  top_k: z.number().int().min(1).max(100).default(5),
  threshold: z
    .number()
    .nonnegative()
    .optional()
    .describe(
      'Per-comparison cosine distance; default: the open-set threshold for the gallery size (IDENTIFY_TARGET_FPIR)',
    ),
});
export type IdentifyRequest = z.infer<typeof IdentifyRequest>;

/** Any ISO-8601 date-time (with offset or Z); normalised to UTC so records compare as strings. */
const Instant = z.iso.datetime({ offset: true }).transform((s) => new Date(s).toISOString());

export const AttendanceRequest = z.object({
  camera_id: z.string().min(1).max(128),
  frames: z.array(z.object({ image: z.string().min(1), captured_at: Instant })).min(1),
  group: z.string().min(1).max(128).optional(),
  webhook_url: z.string().url().optional(),
  webhook_secret: WebhookSecret.optional(),
  threshold: z
    .number()
    .nonnegative()
    .optional()
    .describe(
      'Per-comparison cosine distance; default: the open-set threshold for the gallery size (ATTENDANCE_TARGET_FPIR)',
    ),
});
export type AttendanceRequest = z.infer<typeof AttendanceRequest>;

export const AttendanceListQuery = PageQuery.extend({
  user_id: z.string().max(128).optional(),
  camera_id: z.string().max(128).optional(),
  group: z.string().max(128).optional(),
  kind: z.enum(['match', 'unknown']).optional().describe('match: an enrolled user; unknown: nobody enrolled'),
  /** Match records by how their evidence stands now (src/shared/evidence.ts). */
  status: z.enum(ATTENDANCE_STATUSES).optional().describe('Match records by how their evidence stands now'),
  from: Instant.optional().describe('Records first seen at or after this time'),
  to: Instant.optional().describe('Records first seen at or before this time'),
});

export const WebhookEndpointRequest = z.object({
  url: z.string().url(),
  secret: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/=]{16,}$/, 'must be whsec_ followed by base64')
    .optional()
    .describe('Standard Webhooks secret; generated (and returned once) when absent'),
  events: z
    .array(z.enum(WEBHOOK_EVENTS))
    .min(1)
    .optional()
    .describe(
      'Events to send it (default: job.completed and job.failed); attendance.recorded: once per confirmed attendance record',
    ),
});
