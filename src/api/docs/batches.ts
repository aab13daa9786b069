import { z } from '@hono/zod-openapi';
import { BatchAccepted } from '../../shared/schemas.js';
import { errors, named, ok } from './openapi-kit.js';

/** What the batch routes (enrollments, attendance, jobs/embed) share in their descriptions. */

export const BATCH_ACCEPTED_EXAMPLE = {
  job_id: 'job_0b6f7c1e7a4e4c1d9a532f4b1d0e9c11',
  status_url: '/api/v1/jobs/job_0b6f7c1e7a4e4c1d9a532f4b1d0e9c11',
  items: 2,
};

/** The responses of a batch route: 202 with the job id, or one of the errors an intake refuses with. */
export function BATCH_RESPONSES(accepted = 'Accepted: the batch is queued') {
  return {
    202: ok(named('BatchAccepted', BatchAccepted), accepted, BATCH_ACCEPTED_EXAMPLE),
    ...errors(
      'INVALID_REQUEST',
      'UNAUTHORIZED',
      'UNSUPPORTED_MEDIA_TYPE',
      'PAYLOAD_TOO_LARGE',
      'BATCH_TOO_LARGE',
      'IDEMPOTENCY_KEY_REUSED',
      'SERVICE_UNAVAILABLE',
    ),
  };
}

/**
 * Documented, not refused here: any string passes this schema, and idempotent() keeps its own
 * 1-255 character check and message (idempotency.ts).
 */
export const IDEMPOTENCY_KEY = z.object({
  'Idempotency-Key': z
    .string()
    .optional()
    .openapi({
      param: {
        in: 'header',
        description:
          '1-255 characters. A repeat with the same key and body replays the first answer ' +
          '(with `Idempotent-Replayed: true`); the same key with another body is IDEMPOTENCY_KEY_REUSED.',
      },
      example: 'enroll-2026-03-02-site-a',
    }),
});

/** The multipart form of a batch: a manifest part, text fields and the files it names. */
export function MULTIPART_MANIFEST(fields: string[], manifest = 'CSV or JSON naming the uploaded files') {
  return {
    'multipart/form-data': {
      schema: {
        type: 'object',
        required: ['manifest'],
        properties: {
          manifest: { type: 'string', description: manifest },
          ...Object.fromEntries(fields.map((f) => [f, { type: 'string' }])),
          files: {
            type: 'array',
            items: { type: 'string', format: 'binary' },
            description: 'The photos, each matched to the manifest by its file name (any part name)',
          },
        },
      },
    },
  };
}
