import type { IdempotencyRecord } from '../types.js';

/** Idempotency keys of API requests (src/api/idempotency.ts). */
export interface IdempotencyRepository {
  /**
   * Claims an idempotency key atomically: `claimed` for exactly one of any number of concurrent
   * callers; the others get the existing record.
   */
  claimIdempotencyKey(
    key: string,
    bodySha256: string,
  ): Promise<{ claimed: true } | { claimed: false; record: IdempotencyRecord }>;
  setIdempotencyResponse(key: string, response: { status: number; body: unknown }): Promise<void>;
  /**
   * Releases a claim whose request failed before creating anything, so a retry can proceed.
   * With `createdAt`, only the claim made at that moment (an abandoned one being taken over: a
   * newer claim of the key is never removed).
   */
  releaseIdempotencyKey(key: string, createdAt?: string): Promise<void>;
}
