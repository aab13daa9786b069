import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import { decodeCursor, encodeCursor } from '../cursor.js';
import type { AttendanceQuery, AttendanceRecord, Page, Sighting } from '../types.js';
import { isoTime, toAttendance, toBlob, type AttendanceRow } from './rows.js';

export function recordSighting(
  db: Database.Database,
  s: Sighting,
  windowMs: number,
): Promise<{ attendance_id: string }> {
  const run = db.transaction((): { attendance_id: string } => {
    const seen = db
      .prepare<[string], { attendance_id: string }>(
        'SELECT attendance_id FROM sightings WHERE sighting_id = ?',
      )
      .get(s.sighting_id);
    if (seen) return seen;
    const at = isoTime(s.captured_at);
    const t = Date.parse(at);
    // Records this sighting chains onto: same user and camera, within the window of either end.
    const near =
      s.kind === 'match'
        ? db
            .prepare<[string, string, string, string], AttendanceRow>(
              `SELECT * FROM attendance WHERE kind = 'match' AND user_id = ? AND camera_id = ?
                 AND timestamp <= ? AND last_seen >= ? ORDER BY timestamp, attendance_id`,
            )
            .all(
              s.user_id ?? '',
              s.camera_id,
              new Date(t + windowMs).toISOString(),
              new Date(t - windowMs).toISOString(),
            )
        : [];
    const [keep, ...absorbed] = near;
    const attendance_id = keep?.attendance_id ?? randomUUID();
    const better = (r: { similarity_score: number | null }) =>
      (s.similarity ?? -Infinity) > (r.similarity_score ?? -Infinity);
    if (!keep) {
      db.prepare(
        `INSERT INTO attendance (attendance_id, kind, user_id, name, grp, camera_id, timestamp, last_seen, sightings,
               similarity_score, distance, bbox, thumbnail, embedding, job_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?)`,
      ).run(
        attendance_id,
        s.kind,
        s.user_id,
        s.name,
        s.group,
        s.camera_id,
        at,
        at,
        s.similarity,
        s.distance,
        JSON.stringify(s.bbox),
        s.thumbnail,
        s.embedding ? toBlob(s.embedding) : null,
        s.job_id,
      );
    } else {
      const all = [keep, ...absorbed];
      const best = all.reduce((a, b) =>
        (b.similarity_score ?? -Infinity) > (a.similarity_score ?? -Infinity) ? b : a,
      );
      const mine = better(best);
      const times = all
        .flatMap((r) => [r.timestamp, r.last_seen])
        .concat(at)
        .sort();
      db.prepare(
        `UPDATE attendance SET timestamp = ?, last_seen = ?, sightings = ?, similarity_score = ?, distance = ?, bbox = ?,
               thumbnail = ? WHERE attendance_id = ?`,
      ).run(
        times[0],
        times[times.length - 1],
        all.reduce((n, r) => n + r.sightings, 1),
        mine ? s.similarity : best.similarity_score,
        mine ? s.distance : best.distance,
        mine ? JSON.stringify(s.bbox) : best.bbox,
        mine ? s.thumbnail : best.thumbnail,
        attendance_id,
      );
      for (const r of absorbed) {
        db.prepare('UPDATE sightings SET attendance_id = ? WHERE attendance_id = ?').run(
          attendance_id,
          r.attendance_id,
        );
        db.prepare('DELETE FROM attendance WHERE attendance_id = ?').run(r.attendance_id);
      }
    }
    db.prepare('INSERT INTO sightings (sighting_id, attendance_id) VALUES (?, ?)').run(
      s.sighting_id,
      attendance_id,
    );
    return { attendance_id };
  });
  return Promise.resolve(run.immediate());
}

export function listAttendance(db: Database.Database, q: AttendanceQuery): Promise<Page<AttendanceRecord>> {
  const where: string[] = [];
  const args: (string | number)[] = [];
  const add = (sql: string, v: string | undefined) => {
    if (v === undefined) return;
    where.push(sql);
    args.push(v);
  };
  add('user_id = ?', q.user_id);
  add('camera_id = ?', q.camera_id);
  add('grp = ?', q.group);
  add('kind = ?', q.kind);
  add('timestamp >= ?', q.from === undefined ? undefined : isoTime(q.from));
  add('timestamp <= ?', q.to === undefined ? undefined : isoTime(q.to));
  const after = decodeCursor(q.cursor);
  if (after) {
    const [ts, id] = after.split('|');
    where.push('(timestamp > ? OR (timestamp = ? AND attendance_id > ?))');
    args.push(ts ?? '', ts ?? '', id ?? '');
  }
  const sql = `SELECT * FROM attendance ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
                 ORDER BY timestamp, attendance_id LIMIT ?`;
  const rows = db.prepare<(string | number)[], AttendanceRow>(sql).all(...args, q.limit + 1);
  const page = rows.slice(0, q.limit);
  const last = page[page.length - 1];
  return Promise.resolve({
    items: page.map(toAttendance),
    next_cursor:
      rows.length > q.limit && last ? encodeCursor(`${last.timestamp}|${last.attendance_id}`) : null,
  });
}

export function eraseAttendancePhotos(db: Database.Database, userId: string): Promise<string[]> {
  const run = db.transaction((): string[] => {
    const keys = db
      .prepare<[string], { thumbnail: string }>(
        'SELECT thumbnail FROM attendance WHERE user_id = ? AND thumbnail IS NOT NULL',
      )
      .all(userId)
      .map((r) => r.thumbnail);
    db.prepare('UPDATE attendance SET thumbnail = NULL WHERE user_id = ?').run(userId);
    return keys;
  });
  return Promise.resolve(run.immediate());
}
