import { createHash } from 'node:crypto';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ServiceError } from '../shared/errors.js';
import type { IdempotencyRepository } from '../shared/store/index.js';

/** How long a duplicate waits for the first request with its key to produce the response. */
const WAIT_FOR_FIRST_MS = 15_000;
const POLL_MS = 50;
/**
 * A claim still without a response after this was made by a request that died (its process was
 * killed between claiming and answering): a retry takes it over instead of getting 503 forever.
 * Far above what creating a batch takes (a 200 MB intake writes its photos in seconds).
 */
export const CLAIM_EXPIRY_MS = 120_000;

export const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

/**
 * `Idempotency-Key` on POSTs that create work. The store claims the key atomically, so of any
 * number of concurrent duplicates exactly one runs `create`; the others wait for its response
 * and replay it. The same key with a different body is refused.
 */
export async function idempotent(
  c: Context,
  store: IdempotencyRepository,
  bodySha256: string,
  create: () => Promise<{ status: number; body: unknown }>,
): Promise<Response> {
  const header = c.req.header('idempotency-key');
  if (header === undefined) return send(c, await create());
  if (header.length === 0 || header.length > 255) {
    throw new ServiceError('INVALID_REQUEST', 'Idempotency-Key must be 1-255 characters', {
      field: 'Idempotency-Key',
    });
  }
  const key = `${c.req.method} ${c.req.path} ${header}`;
  const claim = await store.claimIdempotencyKey(key, bodySha256);
  if (claim.claimed) {
    let response: { status: number; body: unknown };
    try {
      response = await create();
    } catch (err) {
      await store.releaseIdempotencyKey(key);
      throw err;
    }
    await store.setIdempotencyResponse(key, response);
    return send(c, response);
  }
  if (claim.record.body_sha256 !== bodySha256) {
    throw new ServiceError(
      'IDEMPOTENCY_KEY_REUSED',
      'this Idempotency-Key was used with a different request body',
    );
  }
  const deadline = Date.now() + WAIT_FOR_FIRST_MS;
  for (let record = claim.record; ;) {
    if (record.response) {
      c.header('idempotent-replayed', 'true');
      return send(c, record.response);
    }
    if (Date.parse(record.created_at) < Date.now() - CLAIM_EXPIRY_MS) {
      // Released by when it was made: of several retries taking it over, one claims it anew.
      await store.releaseIdempotencyKey(key, record.created_at);
      return idempotent(c, store, bodySha256, create);
    }
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, POLL_MS));
    const again = await store.claimIdempotencyKey(key, bodySha256);
    if (again.claimed) {
      // The first request failed and released the key: this one does the work instead.
      await store.releaseIdempotencyKey(key);
      return idempotent(c, store, bodySha256, create);
    }
    record = again.record;
  }
  throw new ServiceError(
    'SERVICE_UNAVAILABLE',
    'a request with this Idempotency-Key is still being processed',
  );
}

function send(c: Context, r: { status: number; body: unknown }): Response {
  return c.json(r.body, r.status as ContentfulStatusCode);
}
