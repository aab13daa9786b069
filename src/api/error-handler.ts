import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ServiceError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';

/** The one place errors become HTTP: `{ error, error_code, ...details }`, never a stack trace. */
export function errorHandler(logger: Logger) {
  return (err: Error, c: Context) => {
    const known = toServiceError(err);
    if (known.status >= 500 && known.code === 'INTERNAL_ERROR')
      logger.error({ err, path: c.req.path }, 'unhandled error');
    return c.json(known.toBody(), known.status as ContentfulStatusCode);
  };
}

function toServiceError(err: Error): ServiceError {
  if (err instanceof ServiceError) return err;
  if (err instanceof HTTPException && err.status === 413) {
    return new ServiceError('PAYLOAD_TOO_LARGE', 'the request body is too large');
  }
  return new ServiceError('INTERNAL_ERROR', 'internal error');
}
