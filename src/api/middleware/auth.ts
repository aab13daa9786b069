import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { ServiceError } from '../../shared/errors.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest();

/**
 * Whether a given key is one of the configured ones. Only hashes are kept and compared, in
 * constant time, against every configured key (so timing reveals neither which key nor how
 * much of it matched). Null when no key is configured: auth is off.
 */
export function keyChecker(
  keys: readonly string[],
  hashes: readonly string[],
): ((given: string) => boolean) | null {
  const allowed = [...keys.map(sha256), ...hashes.map((h) => Buffer.from(h, 'hex'))];
  if (allowed.length === 0) return null;
  return (given) => {
    const digest = sha256(given);
    let ok = false;
    for (const a of allowed) ok = (a.length === digest.length && timingSafeEqual(a, digest)) || ok;
    return ok;
  };
}

/**
 * `X-API-Key`, as in the guide. With no key configured, auth is off — startApiServer (server.ts)
 * then refuses to listen beyond loopback.
 */
export function apiKeyAuth(keys: readonly string[], hashes: readonly string[]): MiddlewareHandler {
  const matches = keyChecker(keys, hashes);
  return async (c, next) => {
    if (!matches) return next();
    const given = c.req.header('x-api-key');
    if (!given) throw new ServiceError('UNAUTHORIZED', 'missing X-API-Key header');
    if (!matches(given)) throw new ServiceError('UNAUTHORIZED', 'invalid API key');
    return next();
  };
}
