import type { IdempotencyRepository } from '../repositories/idempotency.js';
import type { IdempotencyRecord } from '../types.js';
import { NO_ID, isDuplicateKey, type Collections } from './collections.js';
import { now } from './encoding.js';

/** Idempotency keys on MongoDB. */
export function mongoIdempotency(cols: Collections): IdempotencyRepository {
  const repository: IdempotencyRepository = {
    async claimIdempotencyKey(key, bodySha256) {
      try {
        // The unique index on `key` makes exactly one concurrent insert succeed.
        await cols.idempotency.insertOne({ key, body_sha256: bodySha256, response: null, created_at: now() });
        return { claimed: true };
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
      const doc = await cols.idempotency.findOne({ key }, NO_ID);
      if (!doc) return repository.claimIdempotencyKey(key, bodySha256); // released in between
      return {
        claimed: false,
        record: {
          key: doc.key,
          body_sha256: doc.body_sha256,
          response: doc.response ? (JSON.parse(doc.response) as IdempotencyRecord['response']) : null,
          created_at: doc.created_at,
        },
      };
    },

    async setIdempotencyResponse(key, response) {
      await cols.idempotency.updateOne({ key }, { $set: { response: JSON.stringify(response) } });
    },

    async releaseIdempotencyKey(key, createdAt) {
      await cols.idempotency.deleteOne({
        key,
        response: null,
        ...(createdAt !== undefined ? { created_at: createdAt } : {}),
      });
    },
  };
  return repository;
}
