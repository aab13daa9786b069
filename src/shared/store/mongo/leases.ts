import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDuplicateKey, type Collections } from './collections.js';

/** A holder that died frees its lease after this; every use here holds one for milliseconds. */
const LEASE_TTL_MS = 15_000;
/** Longer than the TTL, so a waiter outlives a dead holder's lease rather than failing first. */
const WAIT_MS = 30_000;

export class LeaseTimeoutError extends Error {
  constructor(key: string) {
    super(`store lease ${key} stayed taken for ${WAIT_MS} ms`);
  }
}

/**
 * Runs `fn` while holding an exclusive lease on `key`, shared by every process on this database.
 *
 * Why hand-written: it must run on FerretDB v1 as on MongoDB 6-8, and FerretDB's updates are not
 * atomic against each other (20 concurrent `$inc`s of one document lost some there), nor does
 * it honour transactions. So the lease uses only what both make atomic: an insert under a unique
 * index takes it, a delete by its holder frees it. A lease whose holder died (past
 * `expires_ms`) is removed by its `_id` and holder, so a newer lease of the same key is never
 * removed by a late waiter. Waiters poll with a delay doubling from 2 to 50 ms.
 */
export async function withLease<T>(cols: Collections, key: string, fn: () => Promise<T>): Promise<T> {
  const holder = randomUUID();
  const deadline = Date.now() + WAIT_MS;
  for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
    try {
      await cols.leases.insertOne({ key, holder, expires_ms: Date.now() + LEASE_TTL_MS });
      break;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
    const current = await cols.leases.findOne({ key });
    if (current && current.expires_ms < Date.now()) {
      await cols.leases.deleteOne({ _id: current._id, holder: current.holder });
      continue;
    }
    if (Date.now() > deadline) throw new LeaseTimeoutError(key);
    await sleep(delay);
  }
  try {
    return await fn();
  } finally {
    // A failed release (connection lost) leaves the lease to expire: waiters take it then.
    await cols.leases.deleteOne({ key, holder }).catch(() => undefined);
  }
}
