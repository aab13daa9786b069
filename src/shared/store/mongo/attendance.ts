import type { Filter } from 'mongodb';
import { decodeCursor, encodeCursor } from '../cursor.js';
import type { AttendanceQuery, AttendanceRecord, Page } from '../types.js';
import { NO_ID, type AttendanceDoc, type Collections } from './collections.js';
import { fromBinary, isoTime } from './encoding.js';

const toAttendance = (d: AttendanceDoc): AttendanceRecord => ({
  attendance_id: d.attendance_id,
  kind: d.kind,
  user_id: d.user_id,
  name: d.name,
  group: d.group,
  camera_id: d.camera_id,
  timestamp: d.timestamp,
  last_seen: d.last_seen,
  sightings: d.sightings,
  similarity_score: d.similarity_score,
  distance: d.distance,
  bbox: { x: d.bbox.x, y: d.bbox.y, width: d.bbox.width, height: d.bbox.height },
  thumbnail: d.thumbnail,
  embedding: d.embedding ? Array.from(fromBinary(d.embedding)) : null,
  job_id: d.job_id,
});

export async function listAttendance(cols: Collections, q: AttendanceQuery): Promise<Page<AttendanceRecord>> {
  const and: Filter<AttendanceDoc>[] = [];
  if (q.user_id !== undefined) and.push({ user_id: q.user_id });
  if (q.camera_id !== undefined) and.push({ camera_id: q.camera_id });
  if (q.group !== undefined) and.push({ group: q.group });
  if (q.kind !== undefined) and.push({ kind: q.kind });
  if (q.from !== undefined) and.push({ timestamp: { $gte: isoTime(q.from) } });
  if (q.to !== undefined) and.push({ timestamp: { $lte: isoTime(q.to) } });
  const after = decodeCursor(q.cursor);
  if (after) {
    const [ts = '', id = ''] = after.split('|');
    and.push({ $or: [{ timestamp: { $gt: ts } }, { timestamp: ts, attendance_id: { $gt: id } }] });
  }
  const docs = await cols.attendance
    .find(and.length ? { $and: and } : {}, NO_ID)
    .sort({ timestamp: 1, attendance_id: 1 })
    .limit(q.limit + 1)
    .toArray();
  const page = docs.slice(0, q.limit);
  const last = page[page.length - 1];
  return {
    items: page.map(toAttendance),
    next_cursor:
      docs.length > q.limit && last ? encodeCursor(`${last.timestamp}|${last.attendance_id}`) : null,
  };
}

export async function eraseAttendancePhotos(cols: Collections, userId: string): Promise<string[]> {
  const docs = await cols.attendance
    .find({ user_id: userId, thumbnail: { $ne: null } }, { projection: { _id: 0, thumbnail: 1 } })
    .toArray();
  await cols.attendance.updateMany({ user_id: userId }, { $set: { thumbnail: null } });
  return docs.map((d) => d.thumbnail).filter((t): t is string => typeof t === 'string');
}
