import type { Filter } from 'mongodb';
import { byPair, keysetPage } from '../cursor.js';
import type { UnknownRepository } from '../repositories/unknowns.js';
import type { Page, UnknownPerson, UnknownSighting, UnknownSightingQuery } from '../types.js';
import { NO_ID, type AttendanceDoc, type Collections, type UnknownPersonDoc } from './collections.js';
import { fromBinary } from './encoding.js';

/**
 * Unknown people (issue 8 §6), with the SQLite store's semantics. Plain finds and single-field
 * updates only (FerretDB v1). Only the grouping job writes persons and unknown_ids, one job at
 * a time (a queue with global concurrency 1), so no write here needs to be atomic with another.
 */
export function mongoUnknowns(cols: Collections): UnknownRepository {
  return {
    async unknownSightings(q: UnknownSightingQuery): Promise<UnknownSighting[]> {
      const and: Filter<AttendanceDoc>[] = [{ kind: 'unknown' }, { embedding: { $ne: null } }];
      if (q.job_id !== undefined) and.push({ job_id: q.job_id });
      if (q.unknown_id !== undefined) and.push({ unknown_id: q.unknown_id });
      // Documents from before the field lack it: not grouped.
      if (q.grouped === true) and.push({ unknown_id: { $type: 'string' } });
      if (q.grouped === false) and.push({ $or: [{ unknown_id: null }, { unknown_id: { $exists: false } }] });
      if (q.recorded_before !== undefined) {
        and.push({
          $or: [
            { recorded_at: { $lt: q.recorded_before } },
            { recorded_at: { $exists: false }, timestamp: { $lt: q.recorded_before } },
          ],
        });
      }
      const docs = await cols.attendance.find({ $and: and }, NO_ID).toArray();
      const ids = docs.map((d) => d.attendance_id);
      const links = ids.length
        ? await cols.sightings
            .find(
              { attendance_id: { $in: ids } },
              { projection: { _id: 0, sighting_id: 1, attendance_id: 1 } },
            )
            .toArray()
        : [];
      const sightingOf = new Map(links.map((l) => [l.attendance_id, l.sighting_id]));
      const out: UnknownSighting[] = [];
      for (const d of docs) {
        const sighting_id = sightingOf.get(d.attendance_id);
        if (!d.embedding || sighting_id === undefined) continue; // claimed, not yet linked
        out.push({
          attendance_id: d.attendance_id,
          sighting_id,
          unknown_id: d.unknown_id ?? null,
          camera_id: d.camera_id,
          captured_at: d.timestamp,
          face_size: d.bbox.height,
          embedding: fromBinary(d.embedding),
          thumbnail: d.thumbnail,
          job_id: d.job_id,
        });
      }
      // In memory, as SQLite's ORDER BY: both stores give one order for the grouping to follow.
      const key = (s: UnknownSighting) => `${s.captured_at}|${s.sighting_id}`;
      return out.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
    },

    async setUnknownId(attendanceId: string, unknownId: string): Promise<void> {
      await cols.attendance.updateOne(
        { attendance_id: attendanceId, kind: 'unknown' },
        { $set: { unknown_id: unknownId } },
      );
    },

    async relabelUnknown(
      unknownId: string,
      user: { user_id: string; name: string; group: string | null },
    ): Promise<number> {
      const { modifiedCount } = await cols.attendance.updateMany(
        { unknown_id: unknownId, kind: 'unknown' },
        {
          $set: { kind: 'match', user_id: user.user_id, name: user.name, group: user.group, embedding: null },
        },
      );
      return modifiedCount;
    },

    async putUnknownPerson(p: UnknownPerson): Promise<void> {
      await cols.unknownPersons.replaceOne({ unknown_id: p.unknown_id }, toPerson(p), { upsert: true });
    },

    async getUnknownPerson(id: string): Promise<UnknownPerson | undefined> {
      const doc = await cols.unknownPersons.findOne({ unknown_id: id }, NO_ID);
      return doc ? toPerson(doc) : undefined;
    },

    async deleteUnknownPerson(id: string): Promise<void> {
      await cols.unknownPersons.deleteOne({ unknown_id: id });
    },

    async listUnknownPersons(q: {
      camera_id?: string;
      cursor?: string;
      limit: number;
    }): Promise<Page<UnknownPerson>> {
      const and: Filter<UnknownPersonDoc>[] = [];
      if (q.camera_id !== undefined) and.push({ cameras: q.camera_id });
      return keysetPage(
        q,
        PERSONS,
        (after, limit) => {
          if (after) {
            const [ts, id] = after;
            and.push({ $or: [{ first_seen: { $gt: ts } }, { first_seen: ts, unknown_id: { $gt: id } }] });
          }
          return cols.unknownPersons
            .find(and.length ? { $and: and } : {}, NO_ID)
            .sort({ first_seen: 1, unknown_id: 1 })
            .limit(limit)
            .toArray();
        },
        (docs) => docs.map(toPerson),
      );
    },
  };
}

const PERSONS = byPair((d: UnknownPersonDoc) => [d.first_seen, d.unknown_id]);
const toPerson = (d: UnknownPersonDoc): UnknownPerson => ({
  unknown_id: d.unknown_id,
  sightings: d.sightings,
  first_seen: d.first_seen,
  last_seen: d.last_seen,
  cameras: [...d.cameras],
  best_attendance_id: d.best_attendance_id,
  best_thumbnail: d.best_thumbnail,
});
