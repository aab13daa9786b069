import type Database from 'better-sqlite3';
import type { RecordState, SightingStorage } from '../rules/attendance-window.js';
import { runSync } from '../rules/steps.js';
import { bestOf, toBlob, type AttendanceRow, type BestRow } from './rows.js';
import { statements } from './statements.js';

type StateRow = BestRow &
  Pick<
    AttendanceRow,
    | 'attendance_id'
    | 'timestamp'
    | 'last_seen'
    | 'window_closes_at'
    | 'sightings'
    | 'confirming_sightings'
    | 'strong_sightings'
  >;

const STATE_COLUMNS = `attendance_id, timestamp, last_seen, window_closes_at, sightings, confirming_sightings,
  strong_sightings, similarity_score, distance, margin, threshold, confirm_threshold, strong_threshold, bbox, thumbnail`;

/** A row as the window rule reads it (migrate() filled the counters of rows from before them). */
const toState = (r: StateRow): RecordState => ({
  attendance_id: r.attendance_id,
  timestamp: r.timestamp,
  last_seen: r.last_seen,
  window_closes_at: r.window_closes_at ?? r.last_seen,
  sightings: r.sightings,
  confirming_sightings: r.confirming_sightings,
  strong_sightings: r.strong_sightings,
  best: bestOf(r),
  // The rule runs in one transaction here: nothing is ever left half done.
  pending: [],
});

/**
 * The window rule's primitives (../rules/attendance-window.ts) on SQLite: one statement each, the
 * whole rule in one IMMEDIATE transaction, which also makes this the chain's only writer across
 * processes (one writer per database file).
 */
export function sqliteSightings(db: Database.Database): SightingStorage {
  const prepare = statements(db);
  return {
    run: (steps) => Promise.resolve(db.transaction(() => runSync(steps)).immediate()),
    exclusive: (_key, body) => runSync(body()),

    claim(s) {
      // The sighting's row is written with its record (link), in this transaction: none, not recorded.
      return prepare<[string], { attendance_id: string }>(
        'SELECT attendance_id FROM sightings WHERE sighting_id = ?',
      ).get(s.sighting_id)?.attendance_id;
    },

    near(q) {
      return prepare<[string, string, string, string], StateRow>(
        `SELECT ${STATE_COLUMNS} FROM attendance WHERE kind = 'match' AND user_id = ? AND camera_id = ?
             AND timestamp <= ? AND last_seen >= ? ORDER BY timestamp, attendance_id`,
      )
        .all(q.user_id, q.camera_id, q.startsBy, q.lastSeenFrom)
        .map(toState);
    },

    start(r) {
      prepare(
        `INSERT INTO attendance (attendance_id, kind, user_id, name, grp, camera_id, timestamp, last_seen, sightings,
           confirming_sightings, strong_sightings, window_closes_at, similarity_score, distance, margin, threshold,
           confirm_threshold, strong_threshold, bbox, thumbnail, embedding, job_id, recorded_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (attendance_id) DO NOTHING`,
      ).run(
        r.attendance_id,
        r.kind,
        r.user_id,
        r.name,
        r.group,
        r.camera_id,
        r.timestamp,
        r.last_seen,
        r.sightings,
        r.confirming_sightings,
        r.strong_sightings,
        r.window_closes_at,
        r.best.similarity_score,
        r.best.distance,
        r.best.margin,
        r.best.threshold,
        r.best.confirm_threshold,
        r.best.strong_threshold,
        JSON.stringify(r.best.bbox),
        r.best.thumbnail,
        r.embedding ? toBlob(r.embedding) : null,
        r.job_id,
        r.recorded_at,
      );
    },

    update(id, u) {
      const counts = [
        u.timestamp,
        u.last_seen,
        u.sightings,
        u.confirming_sightings,
        u.strong_sightings,
        u.window_closes_at,
      ];
      const set = `timestamp = ?, last_seen = ?, sightings = ?, confirming_sightings = ?, strong_sightings = ?,
        window_closes_at = ?`;
      const { best } = u;
      const { changes } = best
        ? prepare(
            `UPDATE attendance SET ${set}, similarity_score = ?, distance = ?, margin = ?, threshold = ?,
                 confirm_threshold = ?, strong_threshold = ?, bbox = ?, thumbnail = ? WHERE attendance_id = ?`,
          ).run(
            ...counts,
            best.similarity_score,
            best.distance,
            best.margin,
            best.threshold,
            best.confirm_threshold,
            best.strong_threshold,
            JSON.stringify(best.bbox),
            best.thumbnail,
            id,
          )
        : prepare(`UPDATE attendance SET ${set} WHERE attendance_id = ?`).run(...counts, id);
      return changes === 1;
    },

    absorb(from, into) {
      prepare('UPDATE sightings SET attendance_id = ? WHERE attendance_id = ?').run(into, from);
      prepare('DELETE FROM attendance WHERE attendance_id = ?').run(from);
    },

    link(s, attendanceId) {
      prepare(
        'INSERT INTO sightings (sighting_id, attendance_id, job_id, thumbnail) VALUES (?, ?, ?, ?)',
      ).run(s.sighting_id, attendanceId, s.job_id, s.thumbnail);
    },

    settle: () => undefined,
  };
}
