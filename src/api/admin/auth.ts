import type { MiddlewareHandler } from 'hono';
import { ServiceError } from '../../shared/errors.js';
import { keyChecker } from '../middleware/auth.js';

const REALM = 'Basic realm="Shelia queue dashboard", charset="UTF-8"';

/**
 * A browser cannot add X-API-Key to a page it navigates to, so the dashboard also takes the key
 * as the password of HTTP basic auth (any user name): the browser asks once and sends it with
 * the page's own API calls. No cookie, so no CSRF surface; X-API-Key still works for scripts.
 */
export function dashboardAuth(keys: readonly string[], hashes: readonly string[]): MiddlewareHandler {
  const matches = keyChecker(keys, hashes);
  return async (c, next) => {
    if (!matches) return next();
    const header = c.req.header('x-api-key');
    const given = header ?? basicPassword(c.req.header('authorization'));
    if (given !== undefined && matches(given)) return next();
    c.header('www-authenticate', REALM);
    throw new ServiceError(
      'UNAUTHORIZED',
      given === undefined
        ? 'the queue dashboard needs the API key: as the basic-auth password, or in X-API-Key'
        : 'invalid API key',
    );
  };
}

function basicPassword(header: string | undefined): string | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m?.[1]) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}
