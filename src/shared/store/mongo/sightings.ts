import type { RecordState, SightingStorage } from '../rules/attendance-window.js';
import { runAsync } from '../rules/steps.js';
import { bestOf, evidenceOf } from './attendance-doc.js';
import { NO_ID, isDuplicateKey, type AttendanceDoc, type Collections } from './collections.js';
import { toBinary } from './encoding.js';
import { withLease } from './leases.js';

/** A document as the window rule reads it (attendance-doc.ts: how older documents read). */
const toState = (d: AttendanceDoc): RecordState => ({
  attendance_id: d.attendance_id,
  timestamp: d.timestamp,
  last_seen: d.last_seen,
  sightings: d.sightings,
  ...evidenceOf(d),
  best: bestOf(d),
  pending: d.pending ?? [],
});

/**
 * The window rule's primitives (../rules/attendance-window.ts) on MongoDB, each one
 * single-document operation (or one updateMany): no transactions, which a standalone mongod and
 * FerretDB v1 lack. One chain's writers are serialised by a lease on (user, camera) (leases.ts),
 * across processes: FerretDB does not even make concurrent `$inc`s of one document atomic (24
 * concurrent sightings of one person made 2-7 records without the lease; with it, one). Writes
 * by others that do not take the lease touch other fields (erasure detaches crops) or delete
 * whole records (retention; `update` then says false and the rule looks again).
 */
export function mongoSightings(cols: Collections): SightingStorage {
  return {
    run: (steps) => runAsync(steps),
    exclusive: (key, body) => withLease(cols, key, () => runAsync(body())),

    async claim(s) {
      try {
        await cols.sightings.insertOne({
          sighting_id: s.sighting_id,
          attendance_id: null,
          job_id: s.job_id,
          thumbnail: s.thumbnail,
        });
        return undefined;
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
      const prev = await cols.sightings.findOne({ sighting_id: s.sighting_id }, NO_ID);
      // Claimed but never linked: an attempt that stopped midway; this one redoes it.
      return prev?.attendance_id ?? undefined;
    },

    async near(q) {
      const docs = await cols.attendance
        .find(
          {
            kind: 'match',
            user_id: q.user_id,
            camera_id: q.camera_id,
            timestamp: { $lte: q.startsBy },
            last_seen: { $gte: q.lastSeenFrom },
          },
          NO_ID,
        )
        .sort({ timestamp: 1, attendance_id: 1 })
        .toArray();
      return docs.map(toState);
    },

    async start(r) {
      const doc: AttendanceDoc = {
        attendance_id: r.attendance_id,
        kind: r.kind,
        user_id: r.user_id,
        name: r.name,
        group: r.group,
        camera_id: r.camera_id,
        timestamp: r.timestamp,
        last_seen: r.last_seen,
        sightings: r.sightings,
        confirming_sightings: r.confirming_sightings,
        strong_sightings: r.strong_sightings,
        window_closes_at: r.window_closes_at,
        ...r.best,
        embedding: r.embedding ? toBinary(r.embedding) : null,
        job_id: r.job_id,
        unknown_id: null,
        recorded_at: r.recorded_at,
      };
      try {
        await cols.attendance.insertOne(doc);
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
    },

    async update(id, { best, pending, ...counts }) {
      // One document, one write: the counts and what they now include (see RecordState.pending).
      const { matchedCount } = await cols.attendance.updateOne(
        { attendance_id: id },
        {
          $set: { ...counts, ...best },
          ...(pending.length > 0 ? { $addToSet: { pending: { $each: pending } } } : {}),
        },
      );
      return matchedCount === 1;
    },

    async settle(id, ids) {
      await cols.attendance.updateOne(
        { attendance_id: id, pending: { $in: ids } },
        { $pullAll: { pending: ids } },
      );
    },

    async absorb(from, into) {
      // Sightings first: after a fault between the two the record stays, emptied; the next
      // sighting in its window merges it again (see the rule).
      await cols.sightings.updateMany({ attendance_id: from }, { $set: { attendance_id: into } });
      await cols.attendance.deleteOne({ attendance_id: from });
    },

    async link(s, attendanceId) {
      await cols.sightings.updateOne(
        { sighting_id: s.sighting_id },
        { $set: { attendance_id: attendanceId } },
      );
    },
  };
}
