import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import type { Store } from '../../../../src/shared/store/store.js';

/** Idempotency keys (repositories/idempotency.ts). */
export function idempotencyConformance(current: () => Store): void {
  void describe('IdempotencyRepository', () => {
    let store: Store;
    beforeEach(() => {
      store = current();
    });

    void describe('idempotency keys', () => {
      void it('exactly one of 20 concurrent claims of a key wins', async () => {
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => store.claimIdempotencyKey('key-1', `sha-${i}`)),
        );
        assert.equal(results.filter((r) => r.claimed).length, 1);
        const winner = results.findIndex((r) => r.claimed);
        for (const r of results) {
          if (r.claimed) continue;
          assert.equal(r.record.key, 'key-1');
          assert.equal(r.record.body_sha256, `sha-${winner}`);
          assert.equal(r.record.response, null);
          assert.ok(!Number.isNaN(Date.parse(r.record.created_at)));
        }
      });

      void it('a claim after setIdempotencyResponse returns the record with the response', async () => {
        assert.deepEqual(await store.claimIdempotencyKey('key-1', 'sha-a'), { claimed: true });
        const response = { status: 202, body: { job_id: 'job-1', links: ['x'], n: null } };
        await store.setIdempotencyResponse('key-1', response);
        const again = await store.claimIdempotencyKey('key-1', 'sha-b');
        assert.equal(again.claimed, false);
        assert.ok(!again.claimed);
        assert.deepEqual(Object.keys(again.record).sort(), ['body_sha256', 'created_at', 'key', 'response']);
        assert.equal(again.record.body_sha256, 'sha-a');
        assert.deepEqual(again.record.response, response);
        // A key with a response is kept: releasing it is for requests that failed before creating anything.
        await store.releaseIdempotencyKey('key-1');
        assert.equal((await store.claimIdempotencyKey('key-1', 'sha-a')).claimed, false);
        assert.deepEqual(await store.claimIdempotencyKey('key-2', 'sha-a'), { claimed: true });
      });

      void it('releaseIdempotencyKey lets a new claim succeed', async () => {
        assert.equal((await store.claimIdempotencyKey('key-1', 'sha-a')).claimed, true);
        assert.equal((await store.claimIdempotencyKey('key-1', 'sha-a')).claimed, false);
        await store.releaseIdempotencyKey('key-1');
        assert.equal((await store.claimIdempotencyKey('key-1', 'sha-b')).claimed, true);
        const record = await store.claimIdempotencyKey('key-1', 'sha-c');
        assert.ok(!record.claimed && record.record.body_sha256 === 'sha-b');
        await store.releaseIdempotencyKey('never-claimed');
      });
    });
  });
}
