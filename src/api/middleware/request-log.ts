import type { MiddlewareHandler } from 'hono';
import { requestId } from 'hono/request-id';
import { routePath } from 'hono/route';
import type { Logger } from '../../shared/logger.js';

/** What the error handler leaves for the access log line: the error_code of an error answer. */
declare module 'hono' {
  interface ContextVariableMap {
    errorCode: string;
  }
}

/**
 * `X-Request-Id`: a caller's own id is kept when it is up to 128 word characters, `-` or `=`
 * (anything else could forge log lines), otherwise a UUID is made; either way it is echoed.
 */
export const requestIds = (): MiddlewareHandler => requestId({ limitLength: 128 });

/** Scraped every few seconds: logged at debug so they do not drown the requests that matter. */
const QUIET_ROUTES = new Set(['/metrics', '/api/v1/health']);

/**
 * One access line per request: method, route pattern (never the raw path: it can hold ids),
 * status, duration and the request id; an error answer adds its error_code. Never the API key,
 * the query or the body (photos, embeddings).
 */
export function accessLog(logger: Logger): MiddlewareHandler {
  return async (c, next) => {
    const start = performance.now();
    await next();
    const last = routePath(c, -1);
    const route = last.endsWith('*') ? 'unmatched' : last;
    const status = c.res.status;
    const line = {
      req_id: c.get('requestId'),
      method: c.req.method,
      route,
      status,
      ms: Math.round((performance.now() - start) * 10) / 10,
      ...(c.get('errorCode') ? { error_code: c.get('errorCode') } : {}),
    };
    if (status >= 500) logger.warn(line, 'request');
    else if (QUIET_ROUTES.has(route)) logger.debug(line, 'request');
    else logger.info(line, 'request');
  };
}
