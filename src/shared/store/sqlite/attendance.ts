import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import { decodeCursor, encodeCursor } from '../cursor.js';
import {
  CONFIRMED_WHEN,
  isConfirming,
  isStrong,
  statusCondition,
  type AttendanceStatus,
  type EvidenceCounter,
} from '../../evidence.js';
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
    const closes = new Date(t + windowMs).toISOString();
    const confirming = isConfirming(s) ? 1 : 0;
    const strong = isStrong(s) ? 1 : 0;
    if (!keep) {
      db.prepare(
        `INSERT INTO attendance (attendance_id, kind, user_id, name, grp, camera_id, timestamp, last_seen, sightings,
               confirming_sightings, strong_sightings, window_closes_at, similarity_score, distance, margin, threshold,
               confirm_threshold, strong_threshold, bbox, thumbnail, embedding, job_id, recorded_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        attendance_id,
        s.kind,
        s.user_id,
        s.name,
        s.group,
        s.camera_id,
        at,
        at,
        confirming,
        strong,
        closes,
        s.similarity,
        s.distance,
        s.margin,
        s.threshold,
        s.confirm_threshold,
        s.strong_threshold,
        JSON.stringify(s.bbox),
        s.thumbnail,
        s.embedding ? toBlob(s.embedding) : null,
        s.job_id,
        new Date().toISOString(),
      );
    } else {
      const all = [keep, ...absorbed];
      const kept = all.reduce((a, b) =>
        (b.similarity_score ?? -Infinity) > (a.similarity_score ?? -Infinity) ? b : a,
      );
      // The best sighting (strictly higher similarity; on a tie the record keeps its own).
      const best =
        (s.similarity ?? -Infinity) > (kept.similarity_score ?? -Infinity)
          ? { ...s, similarity_score: s.similarity, bbox: JSON.stringify(s.bbox) }
          : kept;
      const times = all
        .flatMap((r) => [r.timestamp, r.last_seen])
        .concat(at)
        .sort();
      const closing = all.map((r) => r.window_closes_at ?? r.last_seen).concat(closes);
      db.prepare(
        `UPDATE attendance SET timestamp = ?, last_seen = ?, sightings = ?, confirming_sightings = ?,
               strong_sightings = ?, window_closes_at = ?, similarity_score = ?, distance = ?, margin = ?, threshold = ?,
               confirm_threshold = ?, strong_threshold = ?, bbox = ?, thumbnail = ? WHERE attendance_id = ?`,
      ).run(
        times[0],
        times[times.length - 1],
        all.reduce((n, r) => n + r.sightings, 1),
        all.reduce((n, r) => n + r.confirming_sightings, confirming),
        all.reduce((n, r) => n + r.strong_sightings, strong),
        closing.sort().at(-1),
        best.similarity_score,
        best.distance,
        best.margin,
        best.threshold,
        best.confirm_threshold,
        best.strong_threshold,
        best.bbox,
        best.thumbnail,
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
    db.prepare(
      'INSERT INTO sightings (sighting_id, attendance_id, job_id, thumbnail) VALUES (?, ?, ?, ?)',
    ).run(s.sighting_id, attendance_id, s.job_id, s.thumbnail);
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
  const now = q.now ?? new Date().toISOString();
  if (q.status !== undefined) where.push(...statusWhere(q.status, now, args));
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
    items: page.map((r) => toAttendance(r, now)),
    next_cursor:
      rows.length > q.limit && last ? encodeCursor(`${last.timestamp}|${last.attendance_id}`) : null,
  });
}

/** CONFIRMED_WHEN's counters are these columns. */
const COUNTER_COLUMN: Record<EvidenceCounter, string> = {
  confirming_sightings: 'confirming_sightings',
  strong_sightings: 'strong_sightings',
};

/** The `status=` filter as SQL (evidence.ts's rule, translated), its values appended to `args`. */
function statusWhere(status: AttendanceStatus, now: string, args: (string | number)[]): string[] {
  const { enough, closed } = statusCondition(status);
  const any = CONFIRMED_WHEN.map((c) => {
    args.push(c.atLeast);
    return `${COUNTER_COLUMN[c.counter]} >= ?`;
  }).join(' OR ');
  const where = ["kind = 'match'", enough ? `(${any})` : `NOT (${any})`];
  if (closed !== undefined) {
    where.push(`COALESCE(window_closes_at, last_seen) ${closed ? '<' : '>='} ?`);
    args.push(now);
  }
  return where;
}

export function attendanceOfJob(
  db: Database.Database,
  jobId: string,
  now?: string,
): Promise<AttendanceRecord[]> {
  const rows = db
    .prepare<[string], AttendanceRow>(
      `SELECT * FROM attendance WHERE kind = 'match'
         AND attendance_id IN (SELECT attendance_id FROM sightings WHERE job_id = ?)
         ORDER BY timestamp, attendance_id`,
    )
    .all(jobId);
  const at = now ?? new Date().toISOString();
  return Promise.resolve(rows.map((r) => toAttendance(r, at)));
}

/**
 * Every crop of the user's records: the best sighting's on the record and every sighting's own
 * (the crops of the other sightings used to be left behind), de-duplicated.
 */
export function eraseAttendancePhotos(db: Database.Database, userId: string): Promise<string[]> {
  const run = db.transaction((): string[] => {
    const keys = db
      .prepare<[string, string], { thumbnail: string }>(
        `SELECT thumbnail FROM attendance WHERE user_id = ? AND thumbnail IS NOT NULL
         UNION SELECT s.thumbnail FROM sightings s JOIN attendance a ON a.attendance_id = s.attendance_id
           WHERE a.user_id = ? AND s.thumbnail IS NOT NULL`,
      )
      .all(userId, userId)
      .map((r) => r.thumbnail);
    db.prepare(
      'UPDATE sightings SET thumbnail = NULL WHERE attendance_id IN (SELECT attendance_id FROM attendance WHERE user_id = ?)',
    ).run(userId);
    db.prepare('UPDATE attendance SET thumbnail = NULL WHERE user_id = ?').run(userId);
    return keys;
  });
  return Promise.resolve(run.immediate());
}
