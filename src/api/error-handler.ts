import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ServiceError, type ErrorCode } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { isStoreUnavailable } from '../shared/store/unavailable.js';

/** The one place errors become HTTP: `{ error, error_code, ...details }`, never a stack trace. */
export function errorHandler(logger: Logger) {
  return (err: Error, c: Context) => {
    const known = toServiceError(err);
    // The request id ties this line to the access line and to what the caller was told.
    const req_id = c.get('requestId');
    c.set('errorCode', known.code);
    if (known.status >= 500 && known.code === 'INTERNAL_ERROR')
      logger.error({ err, req_id, path: c.req.path }, 'unhandled error');
    else if (known.code === 'SERVICE_UNAVAILABLE' && known !== err)
      logger.warn({ err, req_id, path: c.req.path }, 'storage unavailable');
    return c.json(known.toBody(), known.status as ContentfulStatusCode);
  };
}

/** Hono middleware raises HTTPException; each status maps to our code for it. */
const HTTP_CODES: Partial<Record<number, ErrorCode>> = {
  400: 'INVALID_REQUEST',
  401: 'UNAUTHORIZED',
  404: 'NOT_FOUND',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
};

/**
 * File-system errors that mean "the storage cannot take writes now" (read-only or full disk,
 * too many open files): the request was fine and may succeed later, so 503, not a 500 bug.
 */
const STORAGE_UNAVAILABLE = new Set([
  'EROFS',
  'EACCES',
  'EPERM',
  'ENOSPC',
  'EDQUOT',
  'EMFILE',
  'ENFILE',
  'EIO',
]);

function toServiceError(err: Error): ServiceError {
  if (err instanceof ServiceError) return err;
  const errno = (err as NodeJS.ErrnoException).code;
  if (typeof errno === 'string' && STORAGE_UNAVAILABLE.has(errno)) {
    return new ServiceError('SERVICE_UNAVAILABLE', 'storage is not accepting writes right now; retry later', {
      reason: errno,
    });
  }
  if (isStoreUnavailable(err)) {
    return new ServiceError('SERVICE_UNAVAILABLE', 'the database cannot be reached right now; retry later', {
      reason: err.name,
    });
  }
  if (err instanceof HTTPException) {
    const code = HTTP_CODES[err.status] ?? (err.status >= 500 ? 'INTERNAL_ERROR' : 'INVALID_REQUEST');
    return new ServiceError(code, err.message || 'the request was refused');
  }
  return new ServiceError('INTERNAL_ERROR', 'internal error');
}
