import type Database from 'better-sqlite3';
import { decodeCursor, encodeCursor } from '../cursor.js';
import type {
  AttendanceRecord,
  Page,
  UnknownPerson,
  UnknownSighting,
  UnknownSightingQuery,
} from '../types.js';
import { fromBlob, toAttendance, type AttendanceRow } from './rows.js';

/** Unknown people (issue 8 §6): the queries behind src/shared/unknowns.ts and the unknowns API. */

export function getAttendance(db: Database.Database, id: string): Promise<AttendanceRecord | undefined> {
  const row = db.prepare<[string], AttendanceRow>('SELECT * FROM attendance WHERE attendance_id = ?').get(id);
  return Promise.resolve(row ? toAttendance(row, new Date().toISOString()) : undefined);
}

export function deleteAttendance(db: Database.Database, ids: string[]): Promise<string[]> {
  const run = db.transaction((): string[] => {
    const keys = new Set<string>();
    for (const id of ids) {
      const own = db
        .prepare<[string, string], { thumbnail: string }>(
          `SELECT thumbnail FROM attendance WHERE attendance_id = ? AND thumbnail IS NOT NULL
           UNION SELECT thumbnail FROM sightings WHERE attendance_id = ? AND thumbnail IS NOT NULL`,
        )
        .all(id, id);
      for (const r of own) keys.add(r.thumbnail);
      db.prepare('DELETE FROM sightings WHERE attendance_id = ?').run(id);
      db.prepare('DELETE FROM attendance WHERE attendance_id = ?').run(id);
    }
    return [...keys];
  });
  return Promise.resolve(run.immediate());
}

interface UnknownRow {
  attendance_id: string;
  sighting_id: string;
  unknown_id: string | null;
  camera_id: string;
  timestamp: string;
  bbox: string;
  embedding: Buffer;
  thumbnail: string | null;
  job_id: string;
}

export function unknownSightings(db: Database.Database, q: UnknownSightingQuery): Promise<UnknownSighting[]> {
  const where = ["a.kind = 'unknown'", 'a.embedding IS NOT NULL'];
  const args: string[] = [];
  const add = (sql: string, v: string | undefined) => {
    if (v === undefined) return;
    where.push(sql);
    args.push(v);
  };
  add('a.job_id = ?', q.job_id);
  add('a.unknown_id = ?', q.unknown_id);
  if (q.grouped !== undefined) where.push(`a.unknown_id IS ${q.grouped ? 'NOT ' : ''}NULL`);
  if (q.recorded_before !== undefined) {
    // Records from before the column count as recorded when first seen.
    where.push('COALESCE(a.recorded_at, a.timestamp) < ?');
    args.push(q.recorded_before);
  }
  const rows = db
    .prepare<string[], UnknownRow>(
      `SELECT a.attendance_id, s.sighting_id, a.unknown_id, a.camera_id, a.timestamp, a.bbox, a.embedding,
              a.thumbnail, a.job_id
         FROM attendance a JOIN sightings s ON s.attendance_id = a.attendance_id
        WHERE ${where.join(' AND ')} ORDER BY a.timestamp, s.sighting_id`,
    )
    .all(...args);
  return Promise.resolve(
    rows.map((r) => ({
      attendance_id: r.attendance_id,
      sighting_id: r.sighting_id,
      unknown_id: r.unknown_id,
      camera_id: r.camera_id,
      captured_at: r.timestamp,
      face_size: (JSON.parse(r.bbox) as { height: number }).height,
      embedding: fromBlob(r.embedding),
      thumbnail: r.thumbnail,
      job_id: r.job_id,
    })),
  );
}

export function setUnknownId(db: Database.Database, attendanceId: string, unknownId: string): Promise<void> {
  db.prepare("UPDATE attendance SET unknown_id = ? WHERE attendance_id = ? AND kind = 'unknown'").run(
    unknownId,
    attendanceId,
  );
  return Promise.resolve();
}

export function relabelUnknown(
  db: Database.Database,
  unknownId: string,
  user: { user_id: string; name: string; group: string | null },
): Promise<number> {
  const { changes } = db
    .prepare(
      `UPDATE attendance SET kind = 'match', user_id = ?, name = ?, grp = ?, embedding = NULL
        WHERE unknown_id = ? AND kind = 'unknown'`,
    )
    .run(user.user_id, user.name, user.group, unknownId);
  return Promise.resolve(changes);
}

interface PersonRow extends Omit<UnknownPerson, 'cameras'> {
  cameras: string;
}
const toPerson = (r: PersonRow): UnknownPerson => ({ ...r, cameras: JSON.parse(r.cameras) as string[] });

export function putUnknownPerson(db: Database.Database, p: UnknownPerson): Promise<void> {
  db.prepare(
    `INSERT INTO unknown_persons (unknown_id, sightings, first_seen, last_seen, cameras, best_attendance_id, best_thumbnail)
     VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (unknown_id) DO UPDATE SET sightings = excluded.sightings,
       first_seen = excluded.first_seen, last_seen = excluded.last_seen, cameras = excluded.cameras,
       best_attendance_id = excluded.best_attendance_id, best_thumbnail = excluded.best_thumbnail`,
  ).run(
    p.unknown_id,
    p.sightings,
    p.first_seen,
    p.last_seen,
    JSON.stringify(p.cameras),
    p.best_attendance_id,
    p.best_thumbnail,
  );
  return Promise.resolve();
}

export function getUnknownPerson(db: Database.Database, id: string): Promise<UnknownPerson | undefined> {
  const row = db.prepare<[string], PersonRow>('SELECT * FROM unknown_persons WHERE unknown_id = ?').get(id);
  return Promise.resolve(row ? toPerson(row) : undefined);
}

export function deleteUnknownPerson(db: Database.Database, id: string): Promise<void> {
  db.prepare('DELETE FROM unknown_persons WHERE unknown_id = ?').run(id);
  return Promise.resolve();
}

export function listUnknownPersons(
  db: Database.Database,
  q: { camera_id?: string; cursor?: string; limit: number },
): Promise<Page<UnknownPerson>> {
  const where: string[] = [];
  const args: (string | number)[] = [];
  if (q.camera_id !== undefined) {
    where.push('EXISTS (SELECT 1 FROM json_each(cameras) WHERE value = ?)');
    args.push(q.camera_id);
  }
  const after = decodeCursor(q.cursor);
  if (after) {
    const [ts = '', id = ''] = after.split('|');
    where.push('(first_seen > ? OR (first_seen = ? AND unknown_id > ?))');
    args.push(ts, ts, id);
  }
  const rows = db
    .prepare<(string | number)[], PersonRow>(
      `SELECT * FROM unknown_persons ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY first_seen, unknown_id LIMIT ?`,
    )
    .all(...args, q.limit + 1);
  const page = rows.slice(0, q.limit);
  const last = page.at(-1);
  return Promise.resolve({
    items: page.map(toPerson),
    next_cursor: rows.length > q.limit && last ? encodeCursor(`${last.first_seen}|${last.unknown_id}`) : null,
  });
}
