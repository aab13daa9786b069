import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type {
  AttendanceQuery,
  AttendanceRecord,
  Sighting,
  Store,
} from '../../../../src/shared/store/store.js';
import { at, sighting, WINDOW, ARRIVAL_ORDERS } from './fixtures.js';

const STATUSES = ['confirmed', 'pending', 'unconfirmed'] as const;

/**
 * Issue 8 §3, part of the store conformance suite (run on every backend): the evidence a record
 * keeps (confirming_sightings, strong_sightings, window_closes_at, the best sighting's margin
 * and thresholds), the status derived from it at a given time, the `status` filter and
 * attendanceOfJob. `current` gives the store of the running test.
 */
export function evidenceConformance(current: () => Store): void {
  void describe('attendance evidence', () => {
    const records = async (q: Omit<AttendanceQuery, 'limit'> = {}) =>
      (await current().listAttendance({ ...q, limit: 1000 })).items;
    const record = async (userId: string, now?: string) => {
      const found = await records({ user_id: userId, ...(now ? { now } : {}) });
      assert.equal(found.length, 1, `one record for ${userId}`);
      return found[0] as AttendanceRecord;
    };
    const put = (s: Sighting) => current().recordSighting(s, WINDOW);

    void it('one weak sighting is pending while its window is open (inclusive), then unconfirmed', async () => {
      await put(sighting('w-0', 0));
      const r = await record('u1', at(1));
      assert.deepEqual(
        [r.status, r.sightings, r.confirming_sightings, r.strong_sightings, r.window_closes_at],
        ['pending', 1, 1, 0, at(5)],
      );
      assert.equal((await record('u1', at(5))).status, 'pending');
      const later = new Date(Date.parse(at(5)) + 1).toISOString();
      assert.equal((await record('u1', later)).status, 'unconfirmed');
      // Without `now`, the current time: this scene (March 2026) is long over.
      assert.equal((await record('u1')).status, 'unconfirmed');
    });

    void it('two confirming sightings, or one strong, confirm; unknown faces have no status', async () => {
      await put(sighting('a-0', 0));
      await put(sighting('a-3', 3));
      // Matches only under a caller's looser threshold (0.59): recorded, never confirming.
      await put(sighting('e-0', 0, { user_id: 'u5', distance: 0.4, similarity: 0.6 }));
      await put(sighting('e-1', 1, { user_id: 'u5', distance: 0.45, similarity: 0.55 }));
      // At the confirm threshold counts (inclusive).
      await put(sighting('f-0', 0, { user_id: 'u6', distance: 0.3, similarity: 0.7 }));
      await put(sighting('f-1', 1, { user_id: 'u6', distance: 0.3, similarity: 0.7 }));
      await put(sighting('b-0', 0, { user_id: 'u2', distance: 0.1, similarity: 0.9 }));
      await put(sighting('c-0', 0, { user_id: 'u3', distance: 0.15, similarity: 0.85 }));
      await put(
        sighting('d-0', 0, { user_id: 'u4', distance: 0.1, similarity: 0.9, strong_threshold: null }),
      );
      await put(
        sighting('x-0', 0, { kind: 'unknown', user_id: null, name: null, distance: 0.1, similarity: 0.9 }),
      );
      const now = at(1);
      const a = await record('u1', now);
      assert.deepEqual(
        [a.status, a.sightings, a.confirming_sightings, a.strong_sightings, a.window_closes_at],
        ['confirmed', 2, 2, 0, at(8)],
      );
      const e = await record('u5', now);
      assert.deepEqual([e.status, e.sightings, e.confirming_sightings], ['pending', 2, 0]);
      assert.equal((await record('u5', at(7))).status, 'unconfirmed');
      const f = await record('u6', now);
      assert.deepEqual([f.status, f.confirming_sightings], ['confirmed', 2]);
      const b = await record('u2', now);
      assert.deepEqual([b.status, b.sightings, b.strong_sightings], ['confirmed', 1, 1]);
      assert.deepEqual(
        [(await record('u3', now)).status, (await record('u3', now)).strong_sightings],
        ['confirmed', 1],
      );
      assert.deepEqual(
        [(await record('u4', now)).status, (await record('u4', now)).strong_sightings],
        ['pending', 0],
      );
      const [x] = await records({ kind: 'unknown', now });
      assert.deepEqual(
        [x?.status, x?.confirming_sightings, x?.strong_sightings, x?.margin, x?.threshold],
        [null, 0, 0, 0.25, 0.59],
      );
    });

    void it('counters, window end and the best sighting’s margin and thresholds survive merges, in every order', async () => {
      // 0 and 9 min are two records until 4.5 bridges them; 9 is the best sighting, and strong.
      const plan: [number, Partial<Sighting>][] = [
        [0, { similarity: 0.65, distance: 0.35, margin: 0.1 }],
        [9, { similarity: 0.9, distance: 0.1, margin: 0.4, threshold: 0.55, strong_threshold: 0.12 }],
        [4.5, { similarity: 0.75, distance: 0.25, margin: 0.2 }],
      ];
      const orders = ARRIVAL_ORDERS;
      for (const [n, order] of orders.entries()) {
        const userId = `u${n}`;
        for (const i of order) {
          const [m, over] = plan[i] ?? [0, {}];
          await put(sighting(`s-${n}-${m}`, m, { user_id: userId, ...over }));
        }
        const r = await record(userId, at(10));
        const label = `order ${order.join(',')}`;
        assert.deepEqual(
          [
            r.status,
            r.sightings,
            r.confirming_sightings,
            r.strong_sightings,
            r.timestamp,
            r.last_seen,
            r.window_closes_at,
          ],
          ['confirmed', 3, 2, 1, at(0), at(9), at(14)],
          label,
        );
        assert.deepEqual(
          [r.distance, r.similarity_score, r.margin, r.threshold, r.confirm_threshold, r.strong_threshold],
          [0.1, 0.9, 0.4, 0.55, 0.3, 0.12],
          label,
        );
      }
      // Not bridged: the weak one stays alone, pending then unconfirmed; the strong one is confirmed.
      await put(sighting('v-0', 0, { user_id: 'v' }));
      await put(sighting('v-9', 9, { user_id: 'v', ...plan[1]?.[1] }));
      const statuses = async (now: string) => (await records({ user_id: 'v', now })).map((r) => r.status);
      assert.deepEqual(await statuses(at(4)), ['pending', 'confirmed']);
      assert.deepEqual(await statuses(at(6)), ['unconfirmed', 'confirmed']);
    });

    void it('listAttendance filters by status at `now`, agreeing with each record’s status', async () => {
      await put(sighting('s-1', 0)); // weak, alone: window to 5
      await put(sighting('s-2', 0.5, { user_id: 'u2' }));
      await put(sighting('s-3', 2, { user_id: 'u2' })); // two: confirmed
      await put(sighting('s-4', 20, { user_id: 'u3', distance: 0.05, similarity: 0.95 })); // strong
      await put(sighting('s-5', 30, { user_id: 'u4', camera_id: 'cam-2' })); // weak: window to 35
      await put(sighting('s-6', 10, { kind: 'unknown', user_id: null, name: null }));
      await put(sighting('s-7', 31, { user_id: 'u5', group: 'g2' })); // weak: window to 36
      await put(sighting('s-8', 40, { user_id: 'u6', distance: 0.4, similarity: 0.6 })); // two, not confirming
      await put(sighting('s-9', 41, { user_id: 'u6', distance: 0.4, similarity: 0.6 }));
      for (const now of [at(1), at(7), at(35), at(40), at(46), at(46.1), undefined]) {
        const all = await records(now ? { now } : {});
        const ids = (rs: AttendanceRecord[]) => rs.map((r) => r.attendance_id);
        let matched = 0;
        for (const status of STATUSES) {
          const q = { status, ...(now ? { now } : {}) };
          const found = await records(q);
          assert.deepEqual(ids(found), ids(all.filter((r) => r.status === status)), `${status} at ${now}`);
          matched += found.length;
          // With other filters, and a page at a time.
          const cam2 = await records({ ...q, camera_id: 'cam-2' });
          assert.deepEqual(ids(cam2), ids(found.filter((r) => r.camera_id === 'cam-2')));
          const paged: AttendanceRecord[] = [];
          for (let cursor: string | undefined, n = 0; n < 10; n++) {
            const page = await current().listAttendance({ ...q, limit: 1, ...(cursor ? { cursor } : {}) });
            paged.push(...page.items);
            if (!page.next_cursor) break;
            cursor = page.next_cursor;
          }
          assert.deepEqual(paged, found);
        }
        assert.equal(matched, all.filter((r) => r.kind === 'match').length);
      }
      const at7 = await records({ now: at(7) });
      assert.deepEqual(
        at7.map((r) => [r.user_id, r.status]),
        [
          ['u1', 'unconfirmed'],
          ['u2', 'confirmed'],
          [null, null],
          ['u3', 'confirmed'],
          ['u4', 'pending'],
          ['u5', 'pending'],
          ['u6', 'pending'],
        ],
      );
      assert.deepEqual(
        (await records({ status: 'pending', now: at(35.5) })).map((r) => r.user_id),
        ['u5', 'u6'],
      );
    });

    void it('attendanceOfJob gives the match records holding a batch’s sightings, merged ones included', async () => {
      await put(sighting('a-1', 0, { job_id: 'job-a' }));
      await put(sighting('a-2', 0, { job_id: 'job-a', kind: 'unknown', user_id: null, name: null }));
      await put(sighting('b-1', 9, { job_id: 'job-b' }));
      await put(sighting('b-2', 1, { job_id: 'job-b', user_id: 'u2', distance: 0.1, similarity: 0.9 }));
      const of = async (job: string, now?: string) =>
        (await current().attendanceOfJob(job, now)).map((r) => [
          r.user_id,
          r.timestamp,
          r.sightings,
          r.status,
        ]);
      assert.deepEqual(await of('job-a', at(2)), [['u1', at(0), 1, 'pending']]);
      assert.deepEqual(await of('job-b', at(2)), [
        ['u2', at(1), 1, 'confirmed'],
        ['u1', at(9), 1, 'pending'],
      ]);
      await put(sighting('c-1', 4.5, { job_id: 'job-c' })); // bridges u1's two records
      const merged = ['u1', at(0), 3, 'confirmed'];
      assert.deepEqual(await of('job-a'), [merged]);
      assert.deepEqual(await of('job-b'), [merged, ['u2', at(1), 1, 'confirmed']]);
      assert.deepEqual(await of('job-c'), [merged]);
      assert.deepEqual(await of('job-none'), []);
      const [full] = await current().attendanceOfJob('job-c');
      assert.deepEqual(full, await record('u1'));
    });
  });
}
