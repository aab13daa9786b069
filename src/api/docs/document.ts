import type { OpenAPIHono } from '@hono/zod-openapi';
import { ERROR_CODES } from '../../shared/errors.js';

/** Tags in the order the reference page shows them, each with what it groups. */
const TAGS = [
  { name: 'Embeddings', description: 'Photo -> embedding, and 1:1 comparison of embeddings (Pattern A)' },
  { name: 'Identification', description: '1:N search of the enrolled gallery (Pattern B)' },
  { name: 'Enrollment', description: 'Batches of people to enroll, as JSON or multipart uploads' },
  { name: 'Jobs', description: 'Status, per-item results and webhook deliveries of a batch' },
  { name: 'Users', description: 'Enrolled users: look up, list, erase' },
  { name: 'Attendance', description: 'Camera frames in, attendance records out' },
  { name: 'Unknown persons', description: 'Faces nobody enrolled, grouped across frames and cameras' },
  { name: 'Webhooks', description: 'Receivers told about every batch' },
  { name: 'Models', description: 'The models, their thresholds, and the gallery measured against them' },
  { name: 'Service', description: 'Health and metrics: open, no API key' },
];

/**
 * The OpenAPI 3.1 document, generated from the routes' own descriptions (createRoute in
 * src/api/routes) once they are all mounted on `app`.
 */
export function openApiDocument(app: OpenAPIHono, version: string): Record<string, unknown> {
  app.openAPIRegistry.registerComponent('securitySchemes', 'apiKey', {
    type: 'apiKey',
    in: 'header',
    name: 'X-API-Key',
  });
  const doc = app.getOpenAPI31Document({
    openapi: '3.1.0',
    info: {
      title: 'Shelia face recognition service',
      version,
      description:
        'Self-hosted face recognition for attendance systems. Every error is ' +
        '`{"error": "...", "error_code": "..."}` with a stable `error_code` (listed in `x-error-codes` ' +
        'with its HTTP status). Send one of API_KEYS in `X-API-Key` (not needed when no key is ' +
        'set; health and metrics are always open). Batches answer 202 and report through /api/v1/jobs/{id} and webhooks.',
      license: { name: 'MIT', url: 'https://opensource.org/license/mit' },
    },
    // Relative: the document describes whichever host serves it (and the try-it page calls it).
    servers: [{ url: '/', description: 'This Shelia instance' }],
    security: [{ apiKey: [] }],
    tags: TAGS,
  });
  return {
    ...doc,
    'x-error-codes': Object.fromEntries(Object.entries(ERROR_CODES).map(([code, v]) => [code, v.status])),
  };
}
