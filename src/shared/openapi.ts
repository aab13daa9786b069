import { z } from 'zod';
import { ERROR_CODES } from './errors.js';
import {
  AttendanceRequest,
  BatchAccepted,
  CompareRequest,
  CompareResponse,
  EmbedBatchRequest,
  EmbedRequest,
  EmbedResponse,
  EnrollmentRequest,
  ErrorResponse,
  IdentifyRequest,
  JobStatus,
  WebhookEndpointRequest,
} from './schemas.js';

const schema = (s: z.ZodType, io: 'input' | 'output') => z.toJSONSchema(s, { io, unrepresentable: 'any' });
const json = (ref: string) => ({
  content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } },
});
const errors = (...codes: (keyof typeof ERROR_CODES)[]) =>
  Object.fromEntries(
    codes.map((code) => [String(ERROR_CODES[code].status), { description: code, ...json('ErrorResponse') }]),
  );

/** The OpenAPI document, generated from the same zod schemas the API validates with. */
export function openApiDocument(version: string): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: { title: 'Shelia face recognition service', version },
    components: {
      securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' } },
      schemas: {
        EmbedRequest: schema(EmbedRequest, 'input'),
        EmbedResponse: schema(EmbedResponse, 'output'),
        CompareRequest: schema(CompareRequest, 'input'),
        CompareResponse: schema(CompareResponse, 'output'),
        ErrorResponse: schema(ErrorResponse, 'output'),
        IdentifyRequest: schema(IdentifyRequest, 'input'),
        EnrollmentRequest: schema(EnrollmentRequest, 'input'),
        EmbedBatchRequest: schema(EmbedBatchRequest, 'input'),
        AttendanceRequest: schema(AttendanceRequest, 'input'),
        BatchAccepted: schema(BatchAccepted, 'output'),
        JobStatus: schema(JobStatus, 'output'),
        WebhookEndpointRequest: schema(WebhookEndpointRequest, 'input'),
      },
    },
    security: [{ apiKey: [] }],
    paths: {
      '/api/v1/embed': {
        post: {
          summary: 'Photo -> 512-float embedding of one face',
          requestBody: json('EmbedRequest'),
          responses: {
            200: { description: 'The embedding', ...json('EmbedResponse') },
            ...errors(
              'INVALID_IMAGE',
              'UNAUTHORIZED',
              'IMAGE_TOO_LARGE',
              'NO_FACE_DETECTED',
              'SERVICE_UNAVAILABLE',
              'TIMEOUT',
            ),
          },
        },
      },
      '/api/v1/compare': {
        post: {
          summary: 'Rank reference embeddings by distance to a query embedding',
          requestBody: json('CompareRequest'),
          responses: {
            200: { description: 'Matches, nearest first', ...json('CompareResponse') },
            ...errors('INVALID_EMBEDDING', 'UNAUTHORIZED', 'TOO_MANY_REFERENCES'),
          },
        },
      },
      '/api/v1/identify': {
        post: {
          summary: 'Every face in a photo with its nearest enrolled users (1:N)',
          requestBody: json('IdentifyRequest'),
          responses: {
            200: { description: 'Faces and candidates' },
            ...errors('INVALID_IMAGE', 'UNAUTHORIZED'),
          },
        },
      },
      '/api/v1/enrollments': {
        post: {
          summary:
            'Enroll a batch of people (JSON or multipart with a CSV/JSON manifest); Idempotency-Key honoured',
          requestBody: json('EnrollmentRequest'),
          responses: {
            202: { description: 'Accepted', ...json('BatchAccepted') },
            ...errors('INVALID_REQUEST', 'UNAUTHORIZED', 'BATCH_TOO_LARGE', 'IDEMPOTENCY_KEY_REUSED'),
          },
        },
      },
      '/api/v1/jobs/embed': {
        post: {
          summary: 'Embed a batch of photos',
          requestBody: json('EmbedBatchRequest'),
          responses: {
            202: { description: 'Accepted', ...json('BatchAccepted') },
            ...errors('INVALID_REQUEST'),
          },
        },
      },
      '/api/v1/attendance': {
        post: {
          summary: 'Submit camera frames: faces are identified and recorded as attendance',
          requestBody: json('AttendanceRequest'),
          responses: {
            202: { description: 'Accepted', ...json('BatchAccepted') },
            ...errors('INVALID_REQUEST'),
          },
        },
        get: {
          summary: 'Attendance records (user_id, camera_id, group, kind, status, from, to, cursor, limit)',
          responses: { 200: { description: 'A page' } },
        },
      },
      '/api/v1/attendance/{id}/photo': {
        get: {
          summary: "The record's face crop (image/jpeg)",
          responses: { 200: { description: 'JPEG' }, ...errors('NOT_FOUND') },
        },
      },
      '/api/v1/unknowns': {
        get: {
          summary:
            'Unknown persons: unknown faces grouped across frames, cameras, batches (camera_id, cursor, limit)',
          responses: { 200: { description: 'A page' } },
        },
      },
      '/api/v1/unknowns/{id}': {
        get: {
          summary: 'One unknown person with its records',
          responses: { 200: { description: 'The person' }, ...errors('NOT_FOUND') },
        },
      },
      '/api/v1/unknowns/{id}/enroll': {
        post: {
          summary: 'Enroll an unknown person { user_id, name, group? }; its records become the user’s',
          responses: { 200: { description: 'Enrolled' }, ...errors('NOT_FOUND', 'INVALID_REQUEST') },
        },
      },
      '/api/v1/sightings/search': {
        post: {
          summary:
            'Where and when a face was seen { image, limit? }: the enrolled user’s and unknown persons’ records',
          responses: {
            200: { description: 'Faces with records' },
            ...errors('INVALID_REQUEST', 'NO_FACE_DETECTED'),
          },
        },
      },
      '/api/v1/jobs/{id}': {
        get: {
          summary: 'Batch status and progress',
          responses: { 200: { description: 'Status', ...json('JobStatus') }, ...errors('JOB_NOT_FOUND') },
        },
      },
      '/api/v1/jobs/{id}/results': {
        get: {
          summary: 'Per-item results, paged (cursor, limit)',
          responses: { 200: { description: 'A page' } },
        },
      },
      '/api/v1/jobs/{id}/webhook-deliveries': {
        get: { summary: 'Every webhook attempt', responses: { 200: { description: 'Attempts' } } },
      },
      '/api/v1/users': {
        get: {
          summary: 'Enrolled users (group, cursor, limit)',
          responses: { 200: { description: 'A page' } },
        },
      },
      '/api/v1/users/{id}': {
        get: {
          summary: 'One user with template summaries',
          responses: { 200: { description: 'The user' }, ...errors('USER_NOT_FOUND') },
        },
        delete: {
          summary: 'Erase a user: templates, photos, queued work; returns a receipt',
          responses: { 200: { description: 'Receipt' }, ...errors('USER_NOT_FOUND') },
        },
      },
      '/api/v1/webhook-endpoints': {
        post: {
          summary: 'Register a receiver told about every batch (its own whsec_ secret, returned once)',
          requestBody: json('WebhookEndpointRequest'),
          responses: { 201: { description: 'The endpoint with its secret' }, ...errors('INVALID_REQUEST') },
        },
        get: {
          summary: 'Registered endpoints (without secrets)',
          responses: { 200: { description: 'The list' } },
        },
      },
      '/api/v1/webhook-endpoints/{id}': {
        delete: {
          summary: 'Remove a registered endpoint',
          responses: { 204: { description: 'Removed' }, ...errors('NOT_FOUND') },
        },
      },
      '/api/v1/calibration': {
        get: {
          summary: 'Genuine/impostor distances, FAR/FRR, EER, thresholds (group, format=json|svg)',
          responses: { 200: { description: 'JSON or image/svg+xml' } },
        },
      },
      '/api/v1/models': {
        get: {
          summary: 'Model manifest and calibrated thresholds',
          responses: { 200: { description: 'ok' } },
        },
      },
      '/api/v1/health': {
        get: {
          summary: 'Redis, workers, queues, models',
          security: [],
          responses: { 200: { description: 'ok or degraded' }, 503: { description: 'down' } },
        },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics',
          security: [],
          responses: { 200: { description: 'text exposition' } },
        },
      },
    },
    'x-error-codes': Object.fromEntries(Object.entries(ERROR_CODES).map(([code, v]) => [code, v.status])),
  };
}
