import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { ServiceError } from '../../shared/errors.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest();

/**
 * `X-API-Key`, as in the guide. Only hashes are kept and compared, in constant time, against
 * every configured key (so timing reveals neither which key nor how much of it matched).
 * With no key configured, auth is off — main.ts then refuses to listen beyond loopback.
 */
export function apiKeyAuth(keys: readonly string[], hashes: readonly string[]): MiddlewareHandler {
  const allowed = [...keys.map(sha256), ...hashes.map((h) => Buffer.from(h, 'hex'))];
  return async (c, next) => {
    if (allowed.length === 0) return next();
    const given = c.req.header('x-api-key');
    if (!given) throw new ServiceError('UNAUTHORIZED', 'missing X-API-Key header');
    const digest = sha256(given);
    let ok = false;
    for (const a of allowed) ok = (a.length === digest.length && timingSafeEqual(a, digest)) || ok;
    if (!ok) throw new ServiceError('UNAUTHORIZED', 'invalid API key');
    return next();
  };
}
