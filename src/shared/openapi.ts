import { z } from 'zod';
import { ERROR_CODES } from './errors.js';
import { CompareRequest, CompareResponse, EmbedRequest, EmbedResponse, ErrorResponse } from './schemas.js';

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
