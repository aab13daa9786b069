import { z } from '@hono/zod-openapi';
import { ATTENDANCE_STATUSES } from '../../shared/evidence.js';
import { BoundingBox } from '../../shared/schemas.js';

/**
 * Shapes of the API's answers, for /openapi.json. Requests are validated with the shared schemas
 * (src/shared/schemas.ts); these describe what the handlers return, and each route's handler is
 * type-checked against its schema, so a field the store adds or drops is a compile error here.
 * Large reports (health, models, calibration) name their stable fields and allow more.
 */
const at = (example: string) => z.string().openapi({ format: 'date-time', example });
const nextCursor = z
  .string()
  .nullable()
  .describe('Pass as `cursor` for the next page; null on the last page');
const Point = z.tuple([z.number(), z.number()]);
const Quality = z.object({ face_size: z.number(), sharpness: z.number() });

export const Page = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), next_cursor: nextCursor });

const TemplateSummary = z.object({
  template_id: z.string(),
  model: z.string(),
  detection_score: z.number(),
  quality: Quality,
  photo_sha256: z.string(),
  created_at: at('2026-03-02T08:15:00.000Z'),
});

export const User = z
  .object({
    user_id: z.string().openapi({ example: 'emp-1042' }),
    name: z.string().openapi({ example: 'Tony Stewart' }),
    group: z.string().nullable(),
    metadata: z.record(z.string(), z.unknown()),
    enrolled_at: at('2026-03-02T08:15:00.000Z'),
    updated_at: at('2026-03-02T08:15:00.000Z'),
    templates: z.array(TemplateSummary),
  })
  .openapi('User');

export const GroupList = z
  .object({
    groups: z.array(
      z.object({
        group: z
          .string()
          .nullable()
          .openapi({ example: 'site-north' })
          .describe('null: users enrolled without a group'),
        users: z.number().int().openapi({ example: 412 }),
      }),
    ),
  })
  .openapi('GroupList');

export const ErasureReceipt = z
  .object({
    user_id: z.string(),
    erased_at: at('2026-03-02T09:00:00.000Z'),
    templates_erased: z.number().int(),
    attendance_records_kept: z
      .number()
      .int()
      .describe('attendance records of the person, kept (a business log) with their face crops deleted'),
    queued_items_removed: z.number().int(),
    photos_erased: z.number().int(),
  })
  .openapi('ErasureReceipt');

const DecisionBasis = z.object({
  basis: z.enum(['open_set', 'caller']),
  threshold: z.number(),
  target_fpir: z.number().nullable(),
  gallery_size: z.number().int(),
  expected_fnir: z.number().nullable(),
});

export const IdentifyResponse = z
  .object({
    faces: z.array(
      z.object({
        bbox: BoundingBox,
        detection_score: z.number(),
        landmarks: z.array(Point),
        quality: Quality,
        candidates: z.array(
          z.object({ user_id: z.string(), name: z.string(), distance: z.number(), similarity: z.number() }),
        ),
        is_match: z.boolean(),
      }),
    ),
    faces_detected: z.number().int(),
    model: z.string(),
    threshold: z.number(),
    decision: DecisionBasis,
    gallery_size: z.number().int(),
    processing_ms: z.number(),
  })
  .openapi('IdentifyResponse');

const AttendanceFields = {
  attendance_id: z.string(),
  kind: z.enum(['match', 'unknown']),
  user_id: z.string().nullable(),
  name: z.string().nullable(),
  group: z.string().nullable(),
  camera_id: z.string(),
  timestamp: at('2026-03-02T08:01:12.000Z').describe('captured_at of the first sighting'),
  last_seen: at('2026-03-02T08:01:14.000Z'),
  sightings: z.number().int(),
  status: z.enum(ATTENDANCE_STATUSES).nullable().describe('Judged when read; null for unknown faces'),
  confirming_sightings: z.number().int(),
  strong_sightings: z.number().int(),
  window_closes_at: at('2026-03-02T08:06:14.000Z'),
  similarity_score: z.number().nullable(),
  distance: z.number().nullable(),
  margin: z.number().nullable(),
  threshold: z.number().nullable(),
  confirm_threshold: z.number().nullable(),
  strong_threshold: z.number().nullable(),
  bbox: BoundingBox,
  thumbnail: z.string().nullable(),
  job_id: z.string(),
  unknown_id: z.string().nullable(),
};
export const AttendanceRecord = z
  .object({ ...AttendanceFields, embedding: z.array(z.number()).nullable() })
  .openapi('AttendanceRecord');
const SightingRecord = z.object(AttendanceFields);

const UnknownPersonFields = {
  unknown_id: z.string(),
  sightings: z.number().int(),
  first_seen: at('2026-03-02T08:01:12.000Z'),
  last_seen: at('2026-03-02T08:03:40.000Z'),
  cameras: z.array(z.string()),
  best_attendance_id: z.string(),
  best_thumbnail: z.string().nullable(),
};
const UnknownPersonStored = z.object(UnknownPersonFields);
export const UnknownPerson = z
  .object({ ...UnknownPersonFields, best_photo_url: z.string() })
  .openapi('UnknownPerson');
export const UnknownPersonDetail = UnknownPerson.extend({
  records: z.array(
    z.object({
      attendance_id: z.string(),
      camera_id: z.string(),
      captured_at: at('2026-03-02T08:01:12.000Z'),
      face_size: z.number(),
      photo_url: z.string(),
      job_id: z.string(),
    }),
  ),
}).openapi('UnknownPersonDetail');
export const UnknownEnrolled = z.object({
  unknown_id: z.string(),
  user_id: z.string(),
  outcome: z.string().openapi({ example: 'ENROLLED' }),
  templates: z.number().int(),
  records_relabelled: z.number().int(),
});

export const SightingsSearchResponse = z
  .object({
    faces: z.array(
      z.object({
        bbox: BoundingBox,
        user: z
          .object({
            user_id: z.string(),
            name: z.string(),
            distance: z.number(),
            records: z.array(SightingRecord),
          })
          .nullable(),
        unknowns: z.array(
          z.object({
            unknown_id: z.string(),
            distance: z.number(),
            is_match: z.boolean(),
            person: UnknownPersonStored.nullable(),
            records: z.array(SightingRecord),
          }),
        ),
      }),
    ),
    threshold: z.number(),
    grouping_threshold: z.number(),
  })
  .openapi('SightingsSearchResponse');

export const JobResults = z
  .object({
    job_id: z.string(),
    items: z.array(
      z
        .looseObject({
          index: z.number().int(),
          ref: z.string().nullable(),
          outcome: z
            .string()
            .openapi({ example: 'ENROLLED' })
            .describe('ENROLLED, UPDATED, EMBEDDED or an error_code'),
          ok: z.boolean(),
          finished_at: at('2026-03-02T08:15:03.000Z'),
        })
        .describe("Plus the outcome's details: the embedding, or error and error_code"),
    ),
    next_cursor: nextCursor,
  })
  .openapi('JobResults');

export const WebhookDeliveries = z
  .object({
    job_id: z.string(),
    deliveries: z.array(
      z.object({
        delivery_id: z.string(),
        job_id: z.string(),
        event: z.string().openapi({ example: 'batch.completed' }),
        url: z.string(),
        attempt: z.number().int(),
        status_code: z.number().int().nullable(),
        error: z.string().nullable(),
        delivered: z.boolean(),
        at: at('2026-03-02T08:15:05.000Z'),
      }),
    ),
  })
  .openapi('WebhookDeliveries');

const EndpointFields = {
  endpoint_id: z.string().openapi({ example: 'we_4f0c2d9a7b1e4e3f8a6b5c4d3e2f1a0b' }),
  url: z.string().openapi({ example: 'https://hr.example.org/hooks/shelia' }),
  created_at: at('2026-03-02T08:00:00.000Z'),
  disabled_at: z.string().nullable().describe('Set when the receiver answered 410 Gone'),
};
export const WebhookEndpointCreated = z
  .object({ ...EndpointFields, secret: z.string().describe('whsec_…: returned only here') })
  .openapi('WebhookEndpointCreated');
export const WebhookEndpointList = z
  .object({ endpoints: z.array(z.object(EndpointFields)) })
  .openapi('WebhookEndpointList');

export const Health = z
  .object({
    status: z.enum(['ok', 'degraded', 'down']),
    version: z.string(),
    uptime_s: z.number().int(),
    redis: z.object({ reachable: z.boolean() }),
    store: z.object({ backend: z.enum(['sqlite', 'mongodb']), reachable: z.boolean() }),
    workers: z.object({ alive: z.number().int(), details: z.array(z.unknown()) }),
    queues: z.record(z.string(), z.record(z.string(), z.number())),
    models: z.object({
      embedding_model: z.string(),
      files: z.record(z.string(), z.object({ file: z.string(), sha256: z.string() })),
    }),
  })
  .openapi('Health');

export const Models = z
  .looseObject({
    embedding_model: z.string(),
    embedding_dim: z.number().int(),
    thresholds: z.record(z.string(), z.record(z.string(), z.number())),
    default_threshold: z.object({ level: z.string(), cosine: z.number() }),
    threshold_notes: z.string(),
    open_set: z.looseObject({ gallery_size: z.number().int() }),
  })
  .openapi('Models');

export const Calibration = z
  .looseObject({
    status: z.enum(['ok', 'insufficient_data']),
    message: z.string(),
    missing: z.array(z.string()),
    group: z.string().nullable(),
    model: z.string().nullable(),
    metric: z.literal('cosine'),
    counts: z.looseObject({ users: z.number().int(), templates: z.number().int() }),
    eer: z.object({ eer: z.number(), threshold: z.number() }).nullable(),
    open_set: z.looseObject({ gallery_size: z.number().int() }),
  })
  .openapi('Calibration');
