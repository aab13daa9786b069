import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import type { Store } from '../../../../src/shared/store/store.js';
import { job, item, pagesOf } from './fixtures.js';

/** Batches and item results (repositories/batches.ts). */
export function batchesConformance(current: () => Store): void {
  void describe('BatchRepository', () => {
    let store: Store;
    beforeEach(() => {
      store = current();
    });

    void describe('jobs and item results', () => {
      void it('creates, gets and updates a job', async () => {
        const j = job('job-1');
        await store.createJob(j);
        assert.deepEqual(await store.getJob('job-1'), j);
        assert.equal(await store.getJob('nope'), undefined);

        await store.updateJob('job-1', { status: 'active', started_at: '2026-01-01T00:00:01.000Z' });
        assert.deepEqual(await store.getJob('job-1'), {
          ...j,
          status: 'active',
          started_at: '2026-01-01T00:00:01.000Z',
        });
        await store.updateJob('job-1', {});
        await store.updateJob('job-1', { status: 'completed', finished_at: '2026-01-01T00:00:09.000Z' });
        assert.deepEqual(await store.getJob('job-1'), {
          ...j,
          status: 'completed',
          started_at: '2026-01-01T00:00:01.000Z',
          finished_at: '2026-01-01T00:00:09.000Z',
        });
      });

      void it('updateJob sets photos and failure_reason, alone or with the status, and keeps the rest', async () => {
        const j = job('job-1');
        await store.createJob(j);
        await store.updateJob('job-1', {
          status: 'completed',
          finished_at: '2026-01-01T00:00:09.000Z',
          photos: 'pending_deletion',
        });
        const done = { ...j, status: 'completed' as const, finished_at: '2026-01-01T00:00:09.000Z' };
        assert.deepEqual(await store.getJob('job-1'), { ...done, photos: 'pending_deletion' });
        for (const photos of ['deletion_failed', 'kept', 'deleted'] as const) {
          await store.updateJob('job-1', { photos });
          assert.deepEqual(await store.getJob('job-1'), { ...done, photos });
        }
        const reason = 'the batch could not be finalised: store "down" — 30 s';
        await store.updateJob('job-1', { status: 'failed', failure_reason: reason });
        assert.deepEqual(await store.getJob('job-1'), {
          ...done,
          photos: 'deleted',
          status: 'failed',
          failure_reason: reason,
        });
        // Another job is untouched.
        await store.createJob(job('job-2'));
        assert.deepEqual(await store.getJob('job-2'), job('job-2'));
      });

      void it('getItemResult finds one result by job and index, or nothing', async () => {
        await store.createJob(job('job-1'));
        const r = item('job-1', 3, true, 'ENROLLED');
        await store.putItemResult(r);
        assert.deepEqual(await store.getItemResult('job-1', 3), r);
        assert.equal(await store.getItemResult('job-1', 4), undefined);
        assert.equal(await store.getItemResult('job-2', 3), undefined);
      });

      void it('putItemResult upserts by (job_id, index): a retry overwrites, never duplicates', async () => {
        await store.createJob(job('job-1'));
        await store.putItemResult(item('job-1', 0, false, 'NO_FACE_DETECTED'));
        const retried = {
          ...item('job-1', 0, true, 'ENROLLED'),
          detail: { template_id: 't-1', nested: { a: [1, 2] } },
        };
        await store.putItemResult(retried);
        assert.deepEqual(await store.countItemResults('job-1'), { done: 1, failed: 0 });
        assert.deepEqual(await store.listItemResults('job-1', { limit: 10 }), {
          items: [retried],
          next_cursor: null,
        });
      });

      void it('listItemResults pages in index order, per job', async () => {
        for (const i of [10, 2, 0, 7, 1, 3, 11])
          await store.putItemResult(item('job-1', i, true, 'EMBEDDED'));
        await store.putItemResult(item('job-2', 5, true, 'EMBEDDED'));
        const pages = await pagesOf((cursor) =>
          store.listItemResults('job-1', { limit: 3, ...(cursor ? { cursor } : {}) }),
        );
        for (const r of pages.flat()) assert.equal(r.job_id, 'job-1');
        assert.deepEqual(
          pages.map((p) => p.map((r) => r.index)),
          [[0, 1, 2], [3, 7, 10], [11]],
        );
        assert.equal((await store.listItemResults('job-1', { limit: 7 })).next_cursor, null);
        assert.deepEqual(await store.listItemResults('job-3', { limit: 3 }), {
          items: [],
          next_cursor: null,
        });
      });

      void it('listItemResults with an outcome pages through only those items; a forged cursor is refused', async () => {
        for (let i = 0; i < 9; i++) {
          await store.putItemResult(
            item('job-1', i, i % 3 !== 0, i % 3 === 0 ? 'NO_FACE_DETECTED' : 'ENROLLED'),
          );
        }
        const first = await store.listItemResults('job-1', { limit: 2, outcome: 'NO_FACE_DETECTED' });
        assert.deepEqual(
          first.items.map((r) => [r.index, r.outcome]),
          [
            [0, 'NO_FACE_DETECTED'],
            [3, 'NO_FACE_DETECTED'],
          ],
        );
        assert.ok(first.next_cursor);
        const rest = await store.listItemResults('job-1', {
          limit: 2,
          outcome: 'NO_FACE_DETECTED',
          cursor: first.next_cursor,
        });
        assert.deepEqual(
          rest.items.map((r) => r.index),
          [6],
        );
        assert.equal(rest.next_cursor, null);
        await assert.rejects(
          async () => store.listItemResults('job-1', { limit: 2, cursor: 'bm90LWEtbnVtYmVy' }),
          /cursor/,
        );
      });

      void it('countItemResults counts done and failed', async () => {
        assert.deepEqual(await store.countItemResults('job-1'), { done: 0, failed: 0 });
        for (let i = 0; i < 5; i++) await store.putItemResult(item('job-1', i, i % 2 === 0, 'X'));
        await store.putItemResult(item('job-2', 0, false, 'X'));
        assert.deepEqual(await store.countItemResults('job-1'), { done: 5, failed: 2 });
      });
    });
  });
}
