import { OpenAPIHono, z, type Hook } from '@hono/zod-openapi';
import type { Env } from 'hono';
import { ERROR_CODES, ServiceError, type ErrorCode } from '../../shared/errors.js';
import { ErrorResponse } from '../../shared/schemas.js';

/**
 * What every route file uses to describe itself with @hono/zod-openapi: a sub-app whose
 * parameter and query validation fails the way the rest of the API does, and small builders for
 * request bodies and responses.
 */

/**
 * A failed path or query validation becomes the API's own INVALID_REQUEST, naming the first bad
 * field exactly as parseWith does (`limit: Too big: expected number to be <=1000`), so the one
 * error handler answers it.
 */
export const defaultHook: Hook<unknown, Env, string, undefined> = (result) => {
  if (result.success) return;
  const issue = result.error.issues[0];
  const field = (issue?.path ?? []).map(String).join('.') || '(request)';
  throw new ServiceError('INVALID_REQUEST', `${field}: ${issue?.message ?? 'invalid'}`, { field });
};

/** A routes sub-app, mounted by app.ts with `app.route(prefix, ...)`. */
export const routeApp = () => new OpenAPIHono({ defaultHook });

/** Every operation but health, metrics and the docs themselves needs the key (when keys are set). */
export const NO_AUTH: { security: [] } = { security: [] };

/**
 * A shared schema named as a component. zod 4 copies methods onto each schema when it is
 * created, so one built before @hono/zod-openapi extended zod (src/shared is imported by the
 * worker and tests first) has no `.openapi`: it is cloned unchanged (same definition, same
 * validation), and the clone is named.
 */
export function named<S extends z.ZodType>(name: string, schema: S): S {
  return schema.meta(schema.meta() ?? {}).openapi(name);
}

const ErrorBody = named('ErrorResponse', ErrorResponse);

/**
 * A JSON request body documented from the shared zod schema, registered as a component.
 * Validation stays with the handler's readJson: @hono/zod-openapi's own json validator would
 * parse the body before the prescan (json-prescan.ts) could refuse an oversized batch, and
 * would answer a text/plain body with 415, which the API has always accepted.
 */
export function jsonBody(
  app: OpenAPIHono,
  name: string,
  schema: z.ZodType,
  example: unknown,
  extra: Record<string, { schema: Record<string, unknown>; example?: unknown }> = {},
) {
  app.openAPIRegistry.register(name, named(name, schema));
  return {
    required: true,
    content: {
      'application/json': { schema: { $ref: `#/components/schemas/${name}` }, example },
      ...extra,
    },
  } as const;
}

/** A JSON success response whose schema the handler's return type is checked against. */
export function ok<S extends z.ZodType>(schema: S, description: string, example?: z.output<S>) {
  return {
    description,
    content: { 'application/json': { schema, ...(example !== undefined ? { example } : {}) } },
  };
}

/**
 * Error responses by status, each listing the codes it can carry, with an example body per
 * code: several codes share a status (INVALID_IMAGE and INVALID_REQUEST are both 400).
 */
export function errors(...codes: ErrorCode[]) {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = ERROR_CODES[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return Object.fromEntries(
    [...byStatus].map(([status, list]) => [
      status,
      {
        description: `error_code ${list.join(', ')}`,
        content: {
          'application/json': {
            schema: ErrorBody,
            examples: Object.fromEntries(
              list.map((code) => [code, { value: { error: EXAMPLE_MESSAGES[code], error_code: code } }]),
            ),
          },
        },
      },
    ]),
  );
}

/** Example messages, as the API words them (the ServiceError texts, with example values). */
const EXAMPLE_MESSAGES: Record<ErrorCode, string> = {
  INVALID_REQUEST: 'items.0.user_id: Invalid input: expected string, received undefined',
  INVALID_IMAGE: 'image is not a JPEG, PNG or WebP image',
  INVALID_EMBEDDING: 'query_embedding.3: must be a finite number',
  DIMENSION_MISMATCH: 'reference_embeddings.2 has 128 values; query_embedding has 512',
  EMPTY_REFERENCES: 'reference_embeddings is empty',
  MODEL_MISMATCH:
    'query_embedding is of model other@1, not fr_feature@faceplugin-0.0.1: its distances mean nothing against these thresholds',
  UNAUTHORIZED: 'missing X-API-Key header',
  NOT_FOUND: 'no such endpoint',
  METHOD_NOT_ALLOWED: 'DELETE is not allowed on /api/v1/jobs/{id}; allowed: GET',
  USER_NOT_FOUND: 'no user emp-1042',
  JOB_NOT_FOUND: 'no job job_0b6f7c1e7a4e4c1d9a532f4b1d0e9c11',
  PAYLOAD_TOO_LARGE: 'the request body exceeds 15728640 bytes',
  IMAGE_TOO_LARGE: 'image has 8000x6000 = 48000000 pixels; the limit is 25000000',
  TOO_MANY_REFERENCES: 'more than 100000 reference embeddings; the limit is 100000',
  UNSUPPORTED_MEDIA_TYPE: 'Unsupported Media Type',
  NO_FACE_DETECTED: 'no face was detected in the image',
  LOW_QUALITY: 'face_size: 41 is below the minimum 60',
  DUPLICATE_PERSON: 'the face matches enrolled user emp-2001',
  IDEMPOTENCY_KEY_REUSED: 'this Idempotency-Key was used with a different request body',
  BATCH_TOO_LARGE: 'more than 1000 items; the limit is 1000',
  MULTIPLE_FACES: '2 faces and another face is of similar size; a photo of one person is needed',
  INTERNAL_ERROR: 'internal error',
  SERVICE_UNAVAILABLE: 'no worker is running; try again shortly',
  TIMEOUT: 'no result within 30000 ms',
  MODEL_INTEGRITY: 'model detector: models/det_10g.onnx is missing (run `npm run models`)',
  WEBHOOK_SECRET_REQUIRED:
    'a webhook_url needs a secret the receiver already knows: give webhook_secret, register the URL at /api/v1/webhook-endpoints, or set WEBHOOK_SECRET',
};

/** `{id}` in a path, documented with an example. */
export const idParam = (example: string, description: string) =>
  z.object({
    id: z.string().openapi({ param: { name: 'id', in: 'path', description }, example }),
  });

/**
 * For handlers whose Response is built elsewhere (an idempotent replay, a binary body): the
 * compiler cannot see its shape, so it is asserted by the API tests instead.
 */
export const untyped = (res: Response): never => res as never;
