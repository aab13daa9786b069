import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import type {
  AttendanceQuery,
  AttendanceRecord,
  Sighting,
  Store,
} from '../../../../src/shared/store/store.js';
import {
  T0,
  WINDOW,
  at,
  round4,
  sighting,
  later,
  user,
  embedding,
  template,
  bytes,
  ARRIVAL_ORDERS,
  pagesOf,
} from './fixtures.js';

/** Attendance (repositories/attendance.ts): the window rule (rules/attendance-window.ts) on this backend, listing, erasure of crops. */
export function attendanceConformance(current: () => Store): void {
  void describe('AttendanceRepository', () => {
    let store: Store;
    beforeEach(() => {
      store = current();
    });

    void describe('attendance', () => {
      /** Every record matching the query, in list order. */
      const records = async (q: Omit<AttendanceQuery, 'limit'> = {}) =>
        (await store.listAttendance({ ...q, limit: 1000 })).items;
      const record = async (userId: string) => {
        const found = await records({ user_id: userId });
        assert.equal(found.length, 1, `one record for ${userId}`);
        return found[0] as AttendanceRecord;
      };

      void it('sightings chaining within the window are one record, in every arrival order', async () => {
        const minutes = [0, 4, 8];
        const orders = ARRIVAL_ORDERS;
        for (const [n, order] of orders.entries()) {
          const userId = `u${n}`;
          let last = '';
          for (const i of order) {
            const m = minutes[i] ?? 0;
            ({ attendance_id: last } = await store.recordSighting(
              sighting(`s-${n}-${m}`, m, { user_id: userId }),
              WINDOW,
            ));
          }
          const r = await record(userId);
          const label = `order ${order.join(',')}`;
          assert.equal(r.attendance_id, last, label);
          assert.equal(r.timestamp, at(0), label);
          assert.equal(r.last_seen, at(8), label);
          assert.equal(r.sightings, 3, label);
          // Every sighting now answers with the one record, also those of absorbed records.
          for (const m of minutes) {
            assert.deepEqual(
              await store.recordSighting(sighting(`s-${n}-${m}`, m, { user_id: userId }), WINDOW),
              { attendance_id: r.attendance_id },
              label,
            );
          }
          assert.equal((await record(userId)).sightings, 3, label);
        }
        assert.equal((await records()).length, orders.length);
      });

      void it('24 concurrent sightings of one person at one camera make one record counting all 24', async () => {
        // Frames of one camera run in parallel on several workers: each writer may find no
        // record in the window at the same moment. Spread over 0-9.2 minutes (window 5): chained.
        const n = 24;
        const results = await Promise.all(
          Array.from({ length: n }, (_, i) =>
            store.recordSighting(
              sighting(`c-${i}`, i * 0.4, { similarity: 0.7 + i / 1000, distance: 0.3 - i / 1000 }),
              WINDOW,
            ),
          ),
        );
        const r = await record('u1');
        assert.equal(r.sightings, n);
        assert.equal(r.timestamp, at(0));
        assert.equal(r.last_seen, at((n - 1) * 0.4));
        assert.equal(r.similarity_score, 0.7 + (n - 1) / 1000, 'the best sighting wins');
        // Every caller was told a record; a repeat of each sighting answers with the one record.
        assert.equal(results.length, n);
        for (let i = 0; i < n; i++) {
          const again = await store.recordSighting(sighting(`c-${i}`, i * 0.4), WINDOW);
          assert.deepEqual(again, { attendance_id: r.attendance_id }, `sighting c-${i}`);
        }
        assert.equal((await record('u1')).sightings, n);
      });

      void it('a sighting within the window of two records merges them into one', async () => {
        const first = await store.recordSighting(sighting('s-0', 0), WINDOW);
        const second = await store.recordSighting(sighting('s-9', 9), WINDOW);
        assert.notEqual(first.attendance_id, second.attendance_id);
        assert.equal((await records({ user_id: 'u1' })).length, 2);

        const bridge = await store.recordSighting(sighting('s-4.5', 4.5), WINDOW);
        const r = await record('u1');
        assert.equal(bridge.attendance_id, r.attendance_id);
        // The earliest record is kept.
        assert.equal(r.attendance_id, first.attendance_id);
        assert.deepEqual([r.timestamp, r.last_seen, r.sightings], [at(0), at(9), 3]);
        assert.deepEqual(await store.recordSighting(sighting('s-9', 9), WINDOW), first);
      });

      void it('the window is inclusive: exactly windowMs apart chains, 1 ms more does not', async () => {
        await store.recordSighting(sighting('a-0', 0, { user_id: 'u1' }), WINDOW);
        await store.recordSighting(sighting('a-5', 5, { user_id: 'u1' }), WINDOW);
        assert.equal((await record('u1')).sightings, 2);

        await store.recordSighting(sighting('b-0', 0, { user_id: 'u2' }), WINDOW);
        await store.recordSighting(
          sighting('b-5', 5, { user_id: 'u2', captured_at: new Date(T0 + WINDOW + 1).toISOString() }),
          WINDOW,
        );
        assert.equal((await records({ user_id: 'u2' })).length, 2);

        // t and t+11 min are two records; t+5.5 min is within 5 min of neither: a third.
        await store.recordSighting(sighting('c-0', 0, { user_id: 'u3' }), WINDOW);
        await store.recordSighting(sighting('c-11', 11, { user_id: 'u3' }), WINDOW);
        await store.recordSighting(sighting('c-5.5', 5.5, { user_id: 'u3' }), WINDOW);
        assert.equal((await records({ user_id: 'u3' })).length, 3);
      });

      void it('sightings of other cameras or other users never merge', async () => {
        const a = await store.recordSighting(sighting('s-1', 0), WINDOW);
        const b = await store.recordSighting(sighting('s-2', 0, { camera_id: 'cam-2' }), WINDOW);
        const c = await store.recordSighting(sighting('s-3', 0, { user_id: 'u2', name: 'Name u2' }), WINDOW);
        const d = await store.recordSighting(sighting('s-4', 1), WINDOW);
        assert.equal(new Set([a, b, c].map((x) => x.attendance_id)).size, 3);
        assert.equal(d.attendance_id, a.attendance_id);
        const all = await records();
        assert.equal(all.length, 3);
        const byId = new Map(all.map((r) => [r.attendance_id, r]));
        assert.equal(byId.get(a.attendance_id)?.sightings, 2);
        assert.deepEqual(
          [byId.get(b.attendance_id)?.camera_id, byId.get(b.attendance_id)?.sightings],
          ['cam-2', 1],
        );
        assert.deepEqual(
          [byId.get(c.attendance_id)?.user_id, byId.get(c.attendance_id)?.sightings],
          ['u2', 1],
        );
      });

      void it('eraseAttendancePhotos detaches and returns only that user’s face crops', async () => {
        await store.recordSighting(sighting('e-1', 0), WINDOW);
        await store.recordSighting(sighting('e-2', 20), WINDOW);
        await store.recordSighting(sighting('e-3', 0, { user_id: 'u2', name: 'Name u2' }), WINDOW);
        const keys = await store.eraseAttendancePhotos('u1');
        assert.deepEqual(keys.sort(), ['thumbs/e-1.jpg', 'thumbs/e-2.jpg']);
        const all = await records();
        assert.equal(all.length, 3, 'the records themselves stay');
        assert.deepEqual(all.map((r) => [r.user_id, r.thumbnail]).sort(), [
          ['u1', null],
          ['u1', null],
          ['u2', 'thumbs/e-3.jpg'],
        ]);
        assert.deepEqual(await store.eraseAttendancePhotos('u1'), []);
      });

      void it('a crop recorded while eraseAttendancePhotos runs is returned by it or by the next call', async () => {
        // Sightings every 2 ms over 40 ms, the erasure at 10 ms; the worker that recorded a
        // sighting after the erasure began erases again (the processor does). Half chain into one
        // record, each worse than the first (its crop is only the sighting's), half are records.
        const recorded = Array.from({ length: 20 }, (_, i) =>
          later(i * 2, () =>
            store.recordSighting(
              sighting(`r-${i}`, i % 2 ? i * 10 : i * 0.1, { similarity: 0.9 - i / 100 }),
              WINDOW,
            ),
          ),
        );
        const during = later(10, () => store.eraseAttendancePhotos('u1'));
        await Promise.all(recorded);
        const keys = new Set([...(await during), ...(await store.eraseAttendancePhotos('u1'))]);
        const expected = Array.from({ length: 20 }, (_, i) => `thumbs/r-${i}.jpg`).sort();
        assert.deepEqual([...keys].sort(), expected, 'no crop lost track of');
        assert.ok((await records()).every((r) => r.thumbnail === null));
      });

      void it('deleteUser’s receipt counts the attendance records it keeps', async () => {
        await store.enroll(user('u1'), template('photo-a'), 'add');
        await store.recordSighting(sighting('k-1', 0), WINDOW);
        await store.recordSighting(sighting('k-2', 20), WINDOW);
        await store.recordSighting(sighting('k-3', 0, { user_id: 'u2', name: 'Name u2' }), WINDOW);
        assert.equal((await store.deleteUser('u1'))?.attendance_records_kept, 2);
      });

      void it('recording a sighting_id again changes nothing', async () => {
        const first = await store.recordSighting(sighting('s-1', 0), WINDOW);
        const before = await record('u1');
        assert.deepEqual(await store.recordSighting(sighting('s-1', 0), WINDOW), first);
        // Even when the repeat differs (it is the same sighting, retried).
        assert.deepEqual(
          await store.recordSighting(sighting('s-1', 3, { similarity: 0.99, camera_id: 'cam-9' }), WINDOW),
          first,
        );
        assert.deepEqual(await records(), [before]);
        await store.recordSighting(sighting('s-2', 2), WINDOW);
        await store.recordSighting(sighting('s-2', 2), WINDOW);
        assert.equal((await record('u1')).sightings, 2);
      });

      void it('keeps the best (highest similarity) sighting’s score, distance, bbox and thumbnail', async () => {
        const box = (x: number) => ({ x, y: x + 1, width: 100 + x, height: 120 + x });
        const s = (id: string, m: number, similarity: number) =>
          sighting(id, m, {
            similarity,
            distance: round4(1 - similarity),
            bbox: box(m),
            thumbnail: `thumbs/${id}.jpg`,
          });
        await store.recordSighting(s('s-0', 0, 0.7), WINDOW);
        await store.recordSighting(s('s-2', 2, 0.9), WINDOW);
        await store.recordSighting(s('s-4', 4, 0.8), WINDOW);
        let r = await record('u1');
        assert.deepEqual(
          [r.similarity_score, r.distance, r.bbox, r.thumbnail, r.sightings],
          [0.9, 0.1, box(2), 'thumbs/s-2.jpg', 3],
        );

        // Also across a merge: the best of the absorbed record wins over the kept one's.
        const t = (id: string, m: number, similarity: number) => ({ ...s(id, m, similarity), user_id: 'u2' });
        await store.recordSighting(t('t-0', 0, 0.6), WINDOW);
        await store.recordSighting(t('t-8', 8, 0.95), WINDOW);
        await store.recordSighting(t('t-4', 4, 0.7), WINDOW);
        r = await record('u2');
        assert.deepEqual(
          [r.similarity_score, r.distance, r.bbox, r.thumbnail, r.sightings],
          [0.95, 0.05, box(8), 'thumbs/t-8.jpg', 3],
        );
      });

      void it('unknown sightings are never merged and keep their embedding bit-exactly', async () => {
        const special = [0, -0, 1.4e-45, -1.17e-38, 3.4028234e38, 0.1, 1 / 3];
        const emb = Float32Array.from({ length: 512 }, (_, i) => special[i] ?? Math.sin(i * 12.9898) * 0.07);
        const unknown = (id: string, m: number): Sighting =>
          sighting(id, m, { kind: 'unknown', user_id: null, name: null, embedding: emb, similarity: 0.31 });
        const a = await store.recordSighting(unknown('x-1', 0), WINDOW);
        const b = await store.recordSighting(unknown('x-2', 0), WINDOW);
        const c = await store.recordSighting(unknown('x-3', 1), WINDOW);
        assert.equal(new Set([a, b, c].map((x) => x.attendance_id)).size, 3);
        assert.deepEqual(await store.recordSighting(unknown('x-1', 0), WINDOW), a);
        const all = await records({ kind: 'unknown' });
        assert.equal(all.length, 3);
        for (const r of all) {
          assert.equal(r.kind, 'unknown');
          assert.equal(r.user_id, null);
          assert.equal(r.sightings, 1);
          assert.equal(r.similarity_score, 0.31);
          assert.ok(Array.isArray(r.embedding));
          assert.equal(r.embedding.length, 512);
          assert.ok(r.embedding.every((v) => typeof v === 'number'));
          assert.deepEqual(bytes(Float32Array.from(r.embedding)), bytes(emb));
          assert.ok(Object.is(r.embedding[1], -0));
        }
        // A match's record has no embedding.
        await store.recordSighting(sighting('m-1', 0), WINDOW);
        assert.equal((await record('u1')).embedding, null);
      });

      void it('a record has exactly the AttendanceRecord fields', async () => {
        const { attendance_id } = await store.recordSighting(sighting('s-1', 0), WINDOW);
        await store.recordSighting(sighting('s-2', 3, { similarity: 0.5, distance: 0.5 }), WINDOW);
        const expected: AttendanceRecord = {
          attendance_id,
          kind: 'match',
          user_id: 'u1',
          name: 'Name u1',
          group: 'g1',
          camera_id: 'cam-1',
          timestamp: at(0),
          last_seen: at(3),
          sightings: 2,
          status: 'unconfirmed', // the second sighting (0.5) is over the confirm threshold (0.3)
          confirming_sightings: 1,
          strong_sightings: 0,
          window_closes_at: at(8),
          similarity_score: 0.8,
          distance: 0.2,
          margin: 0.25,
          threshold: 0.59,
          confirm_threshold: 0.3,
          strong_threshold: 0.15,
          bbox: { x: 10, y: 20, width: 100, height: 120 },
          thumbnail: 'thumbs/s-1.jpg',
          embedding: null,
          job_id: 'job-1',
          unknown_id: null,
        };
        assert.deepEqual(await records(), [expected]);
      });

      void it('stores and compares times in one form, whatever form they arrive in', async () => {
        // Text order would put "09:00:00Z" after "09:00:00.500Z".
        await store.recordSighting(sighting('s-1', 0, { captured_at: '2026-03-02T09:00:00.500Z' }), WINDOW);
        await store.recordSighting(sighting('s-2', 0, { captured_at: '2026-03-02T10:00:00+01:00' }), WINDOW);
        const r = await record('u1');
        assert.deepEqual(
          [r.timestamp, r.last_seen, r.sightings],
          ['2026-03-02T09:00:00.000Z', '2026-03-02T09:00:00.500Z', 2],
        );
        assert.equal((await records({ from: '2026-03-02T09:00:00Z', to: '2026-03-02T09:00:00Z' })).length, 1);
        assert.equal((await records({ from: '2026-03-02T09:00:00.001Z' })).length, 0);
      });

      void it('listAttendance filters by user, camera, group, kind and inclusive time range', async () => {
        const ids = new Map<string, string>();
        const add = async (key: string, s: Sighting) =>
          ids.set(key, (await store.recordSighting(s, WINDOW)).attendance_id);
        await add('r1', sighting('s-1', 0));
        await add('r2', sighting('s-2', 10, { user_id: 'u2', name: 'Name u2', group: 'g2' }));
        await add('r3', sighting('s-3', 20, { camera_id: 'cam-2' }));
        await add(
          'r4',
          sighting('s-4', 30, { kind: 'unknown', user_id: null, name: null, embedding: embedding(9) }),
        );
        await add('r5', sighting('s-5', 40));
        await add(
          'r6',
          sighting('s-6', 10, { user_id: 'u3', name: 'Name u3', group: null, camera_id: 'cam-2' }),
        );
        const keys = async (q: Omit<AttendanceQuery, 'limit'>) => {
          const byId = new Map([...ids].map(([k, v]) => [v, k]));
          return (await records(q)).map((r) => byId.get(r.attendance_id));
        };
        // r2 and r6 share a timestamp: attendance_id decides.
        const tied = (ids.get('r2') ?? '') < (ids.get('r6') ?? '') ? ['r2', 'r6'] : ['r6', 'r2'];
        assert.deepEqual(await keys({}), ['r1', ...tied, 'r3', 'r4', 'r5']);
        assert.deepEqual(await keys({ user_id: 'u1' }), ['r1', 'r3', 'r5']);
        assert.deepEqual(await keys({ camera_id: 'cam-2' }), ['r6', 'r3']);
        assert.deepEqual(await keys({ group: 'g1' }), ['r1', 'r3', 'r4', 'r5']);
        assert.deepEqual(await keys({ kind: 'unknown' }), ['r4']);
        assert.deepEqual(await keys({ kind: 'match' }), ['r1', ...tied, 'r3', 'r5']);
        assert.deepEqual(await keys({ from: at(10), to: at(30) }), [...tied, 'r3', 'r4']);
        assert.deepEqual(await keys({ from: at(40) }), ['r5']);
        assert.deepEqual(await keys({ to: at(0) }), ['r1']);
        assert.deepEqual(await keys({ from: at(10.5), to: at(19.9) }), []);
        assert.deepEqual(await keys({ user_id: 'u1', camera_id: 'cam-1', from: at(1) }), ['r5']);
        assert.deepEqual(await keys({ user_id: 'nobody' }), []);
      });

      void it('listAttendance pages in (timestamp, attendance_id) order with an opaque cursor', async () => {
        // Seven records, three of them at one time (different users), recorded out of order.
        const plan: [string, number][] = [
          ['u5', 30],
          ['u1', 10],
          ['u2', 10],
          ['u7', 0],
          ['u3', 10],
          ['u6', 50],
          ['u4', 20],
        ];
        for (const [userId, m] of plan) {
          await store.recordSighting(sighting(`s-${userId}`, m, { user_id: userId }), WINDOW);
        }
        const full = await records();
        assert.equal(full.length, 7);
        const order = (r: AttendanceRecord) => `${r.timestamp}|${r.attendance_id}`;
        assert.deepEqual(full.map(order), full.map(order).sort());

        const pages: AttendanceRecord[][] = await pagesOf((cursor) =>
          store.listAttendance({ limit: 2, ...(cursor ? { cursor } : {}) }),
        );
        assert.deepEqual(
          pages.map((p) => p.length),
          [2, 2, 2, 1],
        );
        assert.deepEqual(pages.flat(), full);

        // With a filter, and a page ending exactly at the last record.
        const first = await store.listAttendance({ from: at(10), limit: 3 });
        assert.deepEqual(first.items, full.slice(1, 4));
        assert.ok(first.next_cursor);
        const rest = await store.listAttendance({ from: at(10), limit: 3, cursor: first.next_cursor });
        assert.deepEqual(rest, { items: full.slice(4), next_cursor: null });
        assert.deepEqual(await store.listAttendance({ user_id: 'nobody', limit: 2 }), {
          items: [],
          next_cursor: null,
        });
      });
    });
  });
}
