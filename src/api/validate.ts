import type { Context } from 'hono';
import type { z } from 'zod';
import { ServiceError, type ErrorCode } from '../shared/errors.js';
import { requireBodyType, type BodyType } from './content-type.js';
import { prescanJson, type ArrayLimit } from './json-prescan.js';

export interface ReadJsonOptions {
  /** The body, if the caller already read it (e.g. to hash it). */
  bytes?: Buffer;
  /** Element counts checked on the raw bytes before parsing (see prescanJson). */
  limits?: readonly ArrayLimit[];
  /** Code for a field that fails validation, by its path (default INVALID_REQUEST). */
  codeFor?: (path: PropertyKey[]) => ErrorCode;
}

/** Python's json.dumps writes these for float('nan') / float('inf'); they are not JSON. */
const NON_FINITE = /(?<![A-Za-z"])(NaN|-?Infinity)(?![A-Za-z"])/;

/**
 * The raw request body (already bounded by the route's body limit), once its Content-Type is one
 * the route reads (`accepts`: the error names them all, so a batch route says multipart too).
 */
export async function readBody(c: Context, accepts?: readonly BodyType[]): Promise<Buffer> {
  requireBodyType(c, accepts);
  return Buffer.from(await c.req.arrayBuffer());
}

/**
 * Reads the JSON body and validates it with the shared schema. Counts and nesting are checked
 * on the bytes first, so an oversized batch costs a scan, not a parse. Errors name the field; a
 * field with a more specific code (e.g. embeddings -> INVALID_EMBEDDING) gets that code.
 */
export async function readJson<S extends z.ZodType>(
  c: Context,
  schema: S,
  options: ReadJsonOptions = {},
): Promise<z.infer<S>> {
  return parseJsonBytes(options.bytes ?? (await readBody(c)), schema, options);
}

/** readJson without the request: also used off the event loop (see api/compare). */
export function parseJsonBytes<S extends z.ZodType>(
  bytes: Buffer,
  schema: S,
  options: Omit<ReadJsonOptions, 'bytes'> = {},
): z.infer<S> {
  const codeFor = options.codeFor ?? (() => 'INVALID_REQUEST');
  prescanJson(bytes, options.limits ?? []);
  const text = bytes.toString('utf8');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    if (NON_FINITE.test(text)) {
      throw new ServiceError(
        codeFor(['embedding']),
        'the body contains NaN or Infinity, which are not valid numbers here',
      );
    }
    throw new ServiceError('INVALID_REQUEST', 'the request body is not valid JSON');
  }
  return parseWith(schema, body, '', codeFor);
}

/** Validates a value with a shared schema; the error names the first bad field. */
export function parseWith<S extends z.ZodType>(
  schema: S,
  value: unknown,
  prefix = '',
  codeFor: (path: PropertyKey[]) => ErrorCode = () => 'INVALID_REQUEST',
): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path ?? [];
    const field = [prefix, ...path.map(String)].filter(Boolean).join('.') || '(body)';
    throw new ServiceError(codeFor(path), `${field}: ${issue?.message ?? 'invalid'}`, { field });
  }
  return parsed.data;
}
