import type { Filter } from 'mongodb';
import { CONFIRMED_WHEN, evidenceStatus, statusCondition, type AttendanceStatus } from '../../evidence.js';
import { byPair, keysetPage } from '../cursor.js';
import type { AttendanceRepository } from '../repositories/attendance.js';
import { recordSighting } from '../rules/attendance-window.js';
import type { AttendanceQuery, AttendanceRecord, Page } from '../types.js';
import { bestOf, evidenceOf, LEGACY } from './attendance-doc.js';
import { NO_ID, type AttendanceDoc, type Collections } from './collections.js';
import { fromBinary, isoTime } from './encoding.js';
import { mongoSightings } from './sightings.js';

const RECORDS = byPair((d: AttendanceDoc) => [d.timestamp, d.attendance_id]);

/** Attendance records on MongoDB; sightings are placed by the shared window rule. */
export function mongoAttendance(cols: Collections): AttendanceRepository {
  const sightings = mongoSightings(cols);
  return {
    recordSighting: (s, windowMs) => recordSighting(sightings, s, windowMs),

    async listAttendance(q: AttendanceQuery): Promise<Page<AttendanceRecord>> {
      const and: Filter<AttendanceDoc>[] = [];
      if (q.user_id !== undefined) and.push({ user_id: q.user_id });
      if (q.camera_id !== undefined) and.push({ camera_id: q.camera_id });
      if (q.group !== undefined) and.push({ group: q.group });
      if (q.kind !== undefined) and.push({ kind: q.kind });
      const now = q.now ?? new Date().toISOString();
      if (q.status !== undefined) and.push(...statusFilter(q.status, now));
      if (q.from !== undefined) and.push({ timestamp: { $gte: isoTime(q.from) } });
      if (q.to !== undefined) and.push({ timestamp: { $lte: isoTime(q.to) } });
      return keysetPage(
        q,
        RECORDS,
        (after, limit) => {
          if (after) {
            const [ts, id] = after;
            and.push({ $or: [{ timestamp: { $gt: ts } }, { timestamp: ts, attendance_id: { $gt: id } }] });
          }
          return cols.attendance
            .find(and.length ? { $and: and } : {}, NO_ID)
            .sort({ timestamp: 1, attendance_id: 1 })
            .limit(limit)
            .toArray();
        },
        (docs) => docs.map((d) => toAttendance(d, now)),
      );
    },

    /** Two plain queries (no $lookup): the batch's sightings, then their match records. */
    async attendanceOfJob(jobId: string, now?: string): Promise<AttendanceRecord[]> {
      const linked = await cols.sightings
        .find({ job_id: jobId, attendance_id: { $ne: null } }, { projection: { _id: 0, attendance_id: 1 } })
        .toArray();
      const ids = [...new Set(linked.flatMap((d) => (d.attendance_id ? [d.attendance_id] : [])))];
      if (ids.length === 0) return [];
      const docs = await cols.attendance
        .find({ kind: 'match', attendance_id: { $in: ids } }, NO_ID)
        .sort({ timestamp: 1, attendance_id: 1 })
        .toArray();
      const at = now ?? new Date().toISOString();
      return docs.map((d) => toAttendance(d, at));
    },

    /**
     * Every crop of the user's records: the best one on each record and every sighting's own. Only
     * the crops it read are detached (no transaction: a crop recorded between the read and the
     * update must stay attached, so a later call returns it rather than losing track of it).
     */
    async eraseAttendancePhotos(userId: string): Promise<string[]> {
      const docs = await cols.attendance
        .find({ user_id: userId }, { projection: { _id: 0, attendance_id: 1, thumbnail: 1 } })
        .toArray();
      const ids = docs.map((d) => d.attendance_id);
      const own = await cols.sightings
        .find(
          { attendance_id: { $in: ids }, thumbnail: { $ne: null } },
          { projection: { _id: 0, thumbnail: 1 } },
        )
        .toArray();
      const keys = [
        ...new Set(
          [...docs, ...own].map((d) => d.thumbnail).filter((t): t is string => typeof t === 'string'),
        ),
      ];
      if (keys.length === 0) return [];
      await cols.sightings.updateMany(
        { attendance_id: { $in: ids }, thumbnail: { $in: keys } },
        { $set: { thumbnail: null } },
      );
      await cols.attendance.updateMany(
        { user_id: userId, thumbnail: { $in: keys } },
        { $set: { thumbnail: null } },
      );
      return keys;
    },

    async getAttendance(id: string): Promise<AttendanceRecord | undefined> {
      const doc = await cols.attendance.findOne({ attendance_id: id }, NO_ID);
      return doc ? toAttendance(doc, new Date().toISOString()) : undefined;
    },

    async deleteAttendance(ids: string[]): Promise<string[]> {
      if (ids.length === 0) return [];
      const records = await cols.attendance
        .find({ attendance_id: { $in: ids } }, { projection: { _id: 0, thumbnail: 1 } })
        .toArray();
      const own = await cols.sightings
        .find({ attendance_id: { $in: ids } }, { projection: { _id: 0, thumbnail: 1 } })
        .toArray();
      // Sightings first: a retry after a fault between the two still finds the records to delete.
      await cols.sightings.deleteMany({ attendance_id: { $in: ids } });
      await cols.attendance.deleteMany({ attendance_id: { $in: ids } });
      const keys = [...records, ...own].map((d) => d.thumbnail);
      return [...new Set(keys.filter((t): t is string => typeof t === 'string'))];
    },
  };
}

/** A document as the API shows it, its status judged at `now`. */
export function toAttendance(d: AttendanceDoc, now: string): AttendanceRecord {
  const evidence = { kind: d.kind, ...evidenceOf(d) };
  return {
    attendance_id: d.attendance_id,
    kind: d.kind,
    user_id: d.user_id,
    name: d.name,
    group: d.group,
    camera_id: d.camera_id,
    timestamp: d.timestamp,
    last_seen: d.last_seen,
    sightings: d.sightings,
    status: evidenceStatus(evidence, now),
    confirming_sightings: evidence.confirming_sightings,
    strong_sightings: evidence.strong_sightings,
    window_closes_at: evidence.window_closes_at,
    ...bestOf(d),
    embedding: d.embedding ? Array.from(fromBinary(d.embedding)) : null,
    job_id: d.job_id,
    unknown_id: d.unknown_id ?? null,
  };
}

/**
 * The `status=` filter (evidence.ts's rule, translated), reading documents lacking a field as
 * toAttendance does; $nor negates, also matching documents without the fields.
 */
function statusFilter(status: AttendanceStatus, now: string): Filter<AttendanceDoc>[] {
  const { enough, closed } = statusCondition(status);
  const any: Filter<AttendanceDoc>[] = CONFIRMED_WHEN.flatMap(({ counter: c, atLeast }) => {
    const legacy = LEGACY[c];
    const old = legacy ? [{ [c]: { $exists: false }, [legacy]: { $gte: atLeast } }] : [];
    return [{ [c]: { $gte: atLeast } }, ...old];
  });
  const open: Filter<AttendanceDoc> = {
    $or: [
      { window_closes_at: { $gte: now } },
      { window_closes_at: { $exists: false }, last_seen: { $gte: now } },
    ],
  };
  return [
    { kind: 'match' },
    enough ? { $or: any } : { $nor: any },
    ...(closed === undefined ? [] : [closed ? { $nor: [open] } : open]),
  ];
}
