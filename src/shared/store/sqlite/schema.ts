import type Database from 'better-sqlite3';
import { statements } from './statements.js';

/** The tables and indexes; every statement is IF NOT EXISTS, so init() can run on every start. */
export const SCHEMA = `
CREATE TABLE IF NOT EXISTS users (
  user_id TEXT PRIMARY KEY, name TEXT NOT NULL, grp TEXT, metadata TEXT NOT NULL,
  enrolled_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS users_grp ON users (grp, user_id);
CREATE TABLE IF NOT EXISTS templates (
  template_id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
  model TEXT NOT NULL, embedding BLOB NOT NULL, detection_score REAL NOT NULL, quality TEXT NOT NULL,
  photo_sha256 TEXT NOT NULL, created_at TEXT NOT NULL, UNIQUE (user_id, photo_sha256));
CREATE TABLE IF NOT EXISTS erasures (user_id TEXT PRIMARY KEY, erased_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
  job_id TEXT PRIMARY KEY, type TEXT NOT NULL, total INTEGER NOT NULL, status TEXT NOT NULL,
  created_at TEXT NOT NULL, started_at TEXT, finished_at TEXT, webhook_url TEXT, webhook_secret TEXT,
  photos TEXT NOT NULL DEFAULT 'stored', failure_reason TEXT);
CREATE TABLE IF NOT EXISTS item_results (
  job_id TEXT NOT NULL, idx INTEGER NOT NULL, ref TEXT, outcome TEXT NOT NULL, ok INTEGER NOT NULL,
  detail TEXT NOT NULL, finished_at TEXT NOT NULL, PRIMARY KEY (job_id, idx));
CREATE TABLE IF NOT EXISTS idempotency (
  key TEXT PRIMARY KEY, body_sha256 TEXT NOT NULL, response TEXT, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS webhook_deliveries (
  delivery_id TEXT NOT NULL, job_id TEXT NOT NULL, event TEXT NOT NULL, url TEXT NOT NULL,
  attempt INTEGER NOT NULL, status_code INTEGER, error TEXT, delivered INTEGER NOT NULL, at TEXT NOT NULL,
  PRIMARY KEY (delivery_id, attempt));
CREATE INDEX IF NOT EXISTS webhook_deliveries_job ON webhook_deliveries (job_id, at);
CREATE TABLE IF NOT EXISTS webhook_endpoints (
  endpoint_id TEXT PRIMARY KEY, url TEXT NOT NULL, secret TEXT NOT NULL, created_at TEXT NOT NULL, disabled_at TEXT);
CREATE TABLE IF NOT EXISTS attendance (
  attendance_id TEXT PRIMARY KEY, kind TEXT NOT NULL, user_id TEXT, name TEXT, grp TEXT, camera_id TEXT NOT NULL,
  timestamp TEXT NOT NULL, last_seen TEXT NOT NULL, sightings INTEGER NOT NULL, similarity_score REAL, distance REAL,
  bbox TEXT NOT NULL, thumbnail TEXT, embedding BLOB, job_id TEXT NOT NULL,
  confirming_sightings INTEGER NOT NULL DEFAULT 0, strong_sightings INTEGER NOT NULL DEFAULT 0, window_closes_at TEXT,
  margin REAL, threshold REAL, confirm_threshold REAL, strong_threshold REAL);
CREATE INDEX IF NOT EXISTS attendance_user ON attendance (user_id, camera_id, timestamp);
CREATE INDEX IF NOT EXISTS attendance_time ON attendance (timestamp, attendance_id);
CREATE TABLE IF NOT EXISTS sightings (sighting_id TEXT PRIMARY KEY, attendance_id TEXT NOT NULL, job_id TEXT);
CREATE INDEX IF NOT EXISTS sightings_attendance ON sightings (attendance_id);
CREATE TABLE IF NOT EXISTS unknown_persons (
  unknown_id TEXT PRIMARY KEY, sightings INTEGER NOT NULL, first_seen TEXT NOT NULL, last_seen TEXT NOT NULL,
  cameras TEXT NOT NULL, best_attendance_id TEXT NOT NULL, best_thumbnail TEXT);
CREATE INDEX IF NOT EXISTS unknown_persons_seen ON unknown_persons (first_seen, unknown_id);
`;

/** Evidence columns of attendance (issue 8 §3), for databases created before them. */
const ATTENDANCE_COLUMNS: [string, string][] = [
  ['confirming_sightings', 'INTEGER NOT NULL DEFAULT 0'],
  ['strong_sightings', 'INTEGER NOT NULL DEFAULT 0'],
  ['window_closes_at', 'TEXT'],
  ['margin', 'REAL'],
  ['threshold', 'REAL'],
  ['confirm_threshold', 'REAL'],
  ['strong_threshold', 'REAL'],
  // Unknown people (issue 8 §6): the person a face was grouped into, and when it was stored (retention).
  ['unknown_id', 'TEXT'],
  ['recorded_at', 'TEXT'],
];

const columnsOf = (db: Database.Database, table: string) =>
  new Set(
    statements(db)<[], { name: string }>(`PRAGMA table_info(${table})`)
      .all()
      .map((c) => c.name),
  );

/**
 * Columns added after the first release, for databases created before them. In one IMMEDIATE
 * transaction: the API and a worker starting together on one file must not both add a column.
 */
export function migrate(db: Database.Database): void {
  db.transaction(() => {
    const columns = columnsOf(db, 'jobs');
    if (!columns.has('photos')) {
      db.exec("ALTER TABLE jobs ADD COLUMN photos TEXT NOT NULL DEFAULT 'stored'");
      // Before the column existed, a batch's photos were deleted before its final status was written.
      db.exec(
        "UPDATE jobs SET photos = 'deleted' WHERE status IN ('completed', 'completed_with_errors', 'failed')",
      );
    }
    if (!columns.has('failure_reason')) db.exec('ALTER TABLE jobs ADD COLUMN failure_reason TEXT');
    const attendance = columnsOf(db, 'attendance');
    for (const [name, type] of ATTENDANCE_COLUMNS) {
      if (!attendance.has(name)) db.exec(`ALTER TABLE attendance ADD COLUMN ${name} ${type}`);
    }
    // Records from before the evidence columns: their sightings were matches at the threshold of
    // the time (each one confirming), and their windows are taken as closed.
    if (!attendance.has('confirming_sightings'))
      db.exec("UPDATE attendance SET confirming_sightings = sightings WHERE kind = 'match'");
    if (!attendance.has('window_closes_at'))
      db.exec('UPDATE attendance SET window_closes_at = last_seen WHERE window_closes_at IS NULL');
    const sightingColumns = columnsOf(db, 'sightings');
    if (!sightingColumns.has('job_id')) db.exec('ALTER TABLE sightings ADD COLUMN job_id TEXT');
    // Every sighting's face crop, not only the best one's on the record: erasure and expiry delete them all.
    if (!sightingColumns.has('thumbnail')) db.exec('ALTER TABLE sightings ADD COLUMN thumbnail TEXT');
    // Subscribed events (JSON array); NULL = the job events, all there was before the column.
    if (!columnsOf(db, 'webhook_endpoints').has('events'))
      db.exec('ALTER TABLE webhook_endpoints ADD COLUMN events TEXT');
    db.exec('CREATE INDEX IF NOT EXISTS sightings_job ON sightings (job_id)');
    db.exec('CREATE INDEX IF NOT EXISTS attendance_unknown ON attendance (unknown_id)');
  }).immediate();
}
