import type Database from 'better-sqlite3';
import { byPair, keysetPage } from '../cursor.js';
import {
  CONFIRMED_WHEN,
  statusCondition,
  type AttendanceStatus,
  type EvidenceCounter,
} from '../../evidence.js';
import type { AttendanceRepository } from '../repositories/attendance.js';
import { recordSighting } from '../rules/attendance-window.js';
import { isoTime, toAttendance, type AttendanceRow } from './rows.js';
import { sqliteSightings } from './sightings.js';
import { statements } from './statements.js';

const RECORDS = byPair((r: AttendanceRow) => [r.timestamp, r.attendance_id]);

/** Attendance records on one SQLite database; sightings are placed by the shared window rule. */
export function sqliteAttendance(db: Database.Database): AttendanceRepository {
  const sightings = sqliteSightings(db);
  return {
    recordSighting: (s, windowMs) => recordSighting(sightings, s, windowMs),

    listAttendance(q) {
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
      return keysetPage(
        q,
        RECORDS,
        (after, limit) => {
          if (after) {
            const [ts, id] = after;
            where.push('(timestamp > ? OR (timestamp = ? AND attendance_id > ?))');
            args.push(ts, ts, id);
          }
          const sql = `SELECT * FROM attendance ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
                 ORDER BY timestamp, attendance_id LIMIT ?`;
          return statements(db)<(string | number)[], AttendanceRow>(sql).all(...args, limit);
        },
        (rows) => rows.map((r) => toAttendance(r, now)),
      );
    },

    attendanceOfJob(jobId, now) {
      const rows = statements(db)<[string], AttendanceRow>(
        `SELECT * FROM attendance WHERE kind = 'match'
         AND attendance_id IN (SELECT attendance_id FROM sightings WHERE job_id = ?)
         ORDER BY timestamp, attendance_id`,
      ).all(jobId);
      const at = now ?? new Date().toISOString();
      return Promise.resolve(rows.map((r) => toAttendance(r, at)));
    },

    /**
     * Every crop of the user's records: the best sighting's on the record and every sighting's own
     * (the crops of the other sightings used to be left behind), de-duplicated.
     */
    eraseAttendancePhotos(userId) {
      const run = db.transaction((): string[] => {
        const keys = statements(db)<[string, string], { thumbnail: string }>(
          `SELECT thumbnail FROM attendance WHERE user_id = ? AND thumbnail IS NOT NULL
         UNION SELECT s.thumbnail FROM sightings s JOIN attendance a ON a.attendance_id = s.attendance_id
           WHERE a.user_id = ? AND s.thumbnail IS NOT NULL`,
        )
          .all(userId, userId)
          .map((r) => r.thumbnail);
        statements(db)(
          'UPDATE sightings SET thumbnail = NULL WHERE attendance_id IN (SELECT attendance_id FROM attendance WHERE user_id = ?)',
        ).run(userId);
        statements(db)('UPDATE attendance SET thumbnail = NULL WHERE user_id = ?').run(userId);
        return keys;
      });
      return Promise.resolve(run.immediate());
    },

    getAttendance(id) {
      const row = statements(db)<[string], AttendanceRow>(
        'SELECT * FROM attendance WHERE attendance_id = ?',
      ).get(id);
      return Promise.resolve(row ? toAttendance(row, new Date().toISOString()) : undefined);
    },

    deleteAttendance(ids) {
      const run = db.transaction((): string[] => {
        const keys = new Set<string>();
        for (const id of ids) {
          const own = statements(db)<[string, string], { thumbnail: string }>(
            `SELECT thumbnail FROM attendance WHERE attendance_id = ? AND thumbnail IS NOT NULL
           UNION SELECT thumbnail FROM sightings WHERE attendance_id = ? AND thumbnail IS NOT NULL`,
          ).all(id, id);
          for (const r of own) keys.add(r.thumbnail);
          statements(db)('DELETE FROM sightings WHERE attendance_id = ?').run(id);
          statements(db)('DELETE FROM attendance WHERE attendance_id = ?').run(id);
        }
        return [...keys];
      });
      return Promise.resolve(run.immediate());
    },
  };
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
