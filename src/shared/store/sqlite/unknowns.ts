import type Database from 'better-sqlite3';
import { byPair, keysetPage } from '../cursor.js';
import type { UnknownRepository } from '../repositories/unknowns.js';
import type { UnknownPerson } from '../types.js';
import { fromBlob } from './rows.js';
import { statements } from './statements.js';

/** Unknown people (issue 8 §6): the queries behind src/shared/unknowns.ts and the unknowns API. */

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

interface PersonRow extends Omit<UnknownPerson, 'cameras'> {
  cameras: string;
}
const toPerson = (r: PersonRow): UnknownPerson => ({ ...r, cameras: JSON.parse(r.cameras) as string[] });
const PERSONS = byPair((r: PersonRow) => [r.first_seen, r.unknown_id]);

export function sqliteUnknowns(db: Database.Database): UnknownRepository {
  return {
    unknownSightings(q) {
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
      const rows = statements(db)<string[], UnknownRow>(
        `SELECT a.attendance_id, s.sighting_id, a.unknown_id, a.camera_id, a.timestamp, a.bbox, a.embedding,
              a.thumbnail, a.job_id
         FROM attendance a JOIN sightings s ON s.attendance_id = a.attendance_id
        WHERE ${where.join(' AND ')} ORDER BY a.timestamp, s.sighting_id`,
      ).all(...args);
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
    },

    setUnknownId(attendanceId, unknownId) {
      statements(db)("UPDATE attendance SET unknown_id = ? WHERE attendance_id = ? AND kind = 'unknown'").run(
        unknownId,
        attendanceId,
      );
      return Promise.resolve();
    },

    relabelUnknown(unknownId, user) {
      const { changes } = statements(db)(
        `UPDATE attendance SET kind = 'match', user_id = ?, name = ?, grp = ?, embedding = NULL
        WHERE unknown_id = ? AND kind = 'unknown'`,
      ).run(user.user_id, user.name, user.group, unknownId);
      return Promise.resolve(changes);
    },

    putUnknownPerson(p) {
      statements(db)(
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
    },

    getUnknownPerson(id) {
      const row = statements(db)<[string], PersonRow>(
        'SELECT * FROM unknown_persons WHERE unknown_id = ?',
      ).get(id);
      return Promise.resolve(row ? toPerson(row) : undefined);
    },

    deleteUnknownPerson(id) {
      statements(db)('DELETE FROM unknown_persons WHERE unknown_id = ?').run(id);
      return Promise.resolve();
    },

    listUnknownPersons(q) {
      const where: string[] = [];
      const args: (string | number)[] = [];
      if (q.camera_id !== undefined) {
        where.push('EXISTS (SELECT 1 FROM json_each(cameras) WHERE value = ?)');
        args.push(q.camera_id);
      }
      return keysetPage(
        q,
        PERSONS,
        (after, limit) => {
          if (after) {
            const [ts, id] = after;
            where.push('(first_seen > ? OR (first_seen = ? AND unknown_id > ?))');
            args.push(ts, ts, id);
          }
          return statements(db)<(string | number)[], PersonRow>(
            `SELECT * FROM unknown_persons ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY first_seen, unknown_id LIMIT ?`,
          ).all(...args, limit);
        },
        (rows) => rows.map(toPerson),
      );
    },
  };
}
