import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { decodeCursor, encodeCursor } from './cursor.js';
import type { Store } from './store.js';
import type {
  AttendanceQuery,
  AttendanceRecord,
  BatchJob,
  EnrollOutcome,
  ErasureReceipt,
  GalleryEntry,
  IdempotencyRecord,
  ItemResult,
  Page,
  Sighting,
  TemplateInput,
  TemplateSummary,
  User,
  UserInput,
  WebhookDelivery,
} from './types.js';

const SCHEMA = `
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
  created_at TEXT NOT NULL, started_at TEXT, finished_at TEXT, webhook_url TEXT, webhook_secret TEXT);
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
CREATE TABLE IF NOT EXISTS attendance (
  attendance_id TEXT PRIMARY KEY, kind TEXT NOT NULL, user_id TEXT, name TEXT, grp TEXT, camera_id TEXT NOT NULL,
  timestamp TEXT NOT NULL, last_seen TEXT NOT NULL, sightings INTEGER NOT NULL, similarity_score REAL, distance REAL,
  bbox TEXT NOT NULL, thumbnail TEXT, embedding BLOB, job_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS attendance_user ON attendance (user_id, camera_id, timestamp);
CREATE INDEX IF NOT EXISTS attendance_time ON attendance (timestamp, attendance_id);
CREATE TABLE IF NOT EXISTS sightings (sighting_id TEXT PRIMARY KEY, attendance_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS sightings_attendance ON sightings (attendance_id);
`;

interface UserRow {
  user_id: string;
  name: string;
  grp: string | null;
  metadata: string;
  enrolled_at: string;
  updated_at: string;
}
interface TemplateRow {
  template_id: string;
  user_id: string;
  model: string;
  embedding: Buffer;
  detection_score: number;
  quality: string;
  photo_sha256: string;
  created_at: string;
}
type JobRow = BatchJob;
interface ItemRow {
  job_id: string;
  idx: number;
  ref: string | null;
  outcome: string;
  ok: number;
  detail: string;
  finished_at: string;
}

interface AttendanceRow {
  attendance_id: string;
  kind: 'match' | 'unknown';
  user_id: string | null;
  name: string | null;
  grp: string | null;
  camera_id: string;
  timestamp: string;
  last_seen: string;
  sightings: number;
  similarity_score: number | null;
  distance: number | null;
  bbox: string;
  thumbnail: string | null;
  embedding: Buffer | null;
  job_id: string;
}

function toItem(r: ItemRow): ItemResult {
  return {
    job_id: r.job_id,
    index: r.idx,
    ref: r.ref,
    outcome: r.outcome,
    ok: r.ok === 1,
    detail: JSON.parse(r.detail) as Record<string, unknown>,
    finished_at: r.finished_at,
  };
}

function toAttendance(r: AttendanceRow): AttendanceRecord {
  return {
    attendance_id: r.attendance_id,
    kind: r.kind,
    user_id: r.user_id,
    name: r.name,
    group: r.grp,
    camera_id: r.camera_id,
    timestamp: r.timestamp,
    last_seen: r.last_seen,
    sightings: r.sightings,
    similarity_score: r.similarity_score,
    distance: r.distance,
    bbox: JSON.parse(r.bbox) as AttendanceRecord['bbox'],
    thumbnail: r.thumbnail,
    embedding: r.embedding ? Array.from(fromBlob(r.embedding)) : null,
    job_id: r.job_id,
  };
}

const GALLERY_SQL = `SELECT t.template_id, t.embedding, u.user_id, u.name, u.grp FROM templates t JOIN users u USING (user_id)`;

interface GalleryRow {
  template_id: string;
  embedding: Buffer;
  user_id: string;
  name: string;
  grp: string | null;
}

function toGalleryEntry(r: GalleryRow): GalleryEntry {
  return {
    user_id: r.user_id,
    name: r.name,
    group: r.grp,
    template_id: r.template_id,
    embedding: fromBlob(r.embedding),
  };
}

const now = () => new Date().toISOString();
/**
 * A time in the one form the store compares as text (`2026-03-02T09:00:00.000Z`): attendance times
 * are compared and ordered as strings, which is only right when every one has this exact form
 * (`…09:00:00Z` would sort after `…09:00:00.500Z`). Throws on a value that is not a time.
 */
function isoTime(value: string): string {
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new RangeError(`invalid time: ${value}`);
  return new Date(t).toISOString();
}
const toBlob = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
const fromBlob = (b: Buffer) => new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));

/**
 * The embedded default: one SQLite file (WAL, so the API reads while workers write; busy
 * timeout, so concurrent writers from several processes wait instead of failing).
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  private readonly db: Database.Database;

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('synchronous = NORMAL');
  }

  init(): Promise<void> {
    this.db.exec(SCHEMA);
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.db.close();
    return Promise.resolve();
  }

  enroll(user: UserInput, t: TemplateInput, mode: 'add' | 'replace'): Promise<EnrollOutcome> {
    const run = this.db.transaction((): EnrollOutcome => {
      const at = now();
      const existed =
        this.db.prepare('SELECT 1 FROM users WHERE user_id = ?').get(user.user_id) !== undefined;
      this.db
        .prepare(
          `INSERT INTO users (user_id, name, grp, metadata, enrolled_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (user_id) DO UPDATE SET name = excluded.name, grp = COALESCE(excluded.grp, users.grp),
             metadata = excluded.metadata, updated_at = excluded.updated_at`,
        )
        .run(user.user_id, user.name, user.group, JSON.stringify(user.metadata), at, at);
      if (mode === 'replace') {
        this.db
          .prepare('DELETE FROM templates WHERE user_id = ? AND photo_sha256 <> ?')
          .run(user.user_id, t.photo_sha256);
      }
      this.db
        .prepare(
          `INSERT INTO templates (template_id, user_id, model, embedding, detection_score, quality, photo_sha256, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, photo_sha256) DO UPDATE SET model = excluded.model,
             embedding = excluded.embedding, detection_score = excluded.detection_score, quality = excluded.quality`,
        )
        .run(
          randomUUID(),
          user.user_id,
          t.model,
          toBlob(t.embedding),
          t.detection_score,
          JSON.stringify(t.quality),
          t.photo_sha256,
          at,
        );
      return existed ? 'UPDATED' : 'ENROLLED';
    });
    return Promise.resolve(run.immediate());
  }

  getUser(userId: string): Promise<User | undefined> {
    const row = this.db.prepare<[string], UserRow>('SELECT * FROM users WHERE user_id = ?').get(userId);
    return Promise.resolve(row ? this.toUser(row) : undefined);
  }

  listUsers(q: { group?: string; cursor?: string; limit: number }): Promise<Page<User>> {
    const after = decodeCursor(q.cursor) ?? '';
    const rows =
      q.group === undefined
        ? this.db
            .prepare<[string, number], UserRow>(
              'SELECT * FROM users WHERE user_id > ? ORDER BY user_id LIMIT ?',
            )
            .all(after, q.limit + 1)
        : this.db
            .prepare<[string, string, number], UserRow>(
              'SELECT * FROM users WHERE grp = ? AND user_id > ? ORDER BY user_id LIMIT ?',
            )
            .all(q.group, after, q.limit + 1);
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    return Promise.resolve({
      items: page.map((r) => this.toUser(r)),
      next_cursor: rows.length > q.limit && last ? encodeCursor(last.user_id) : null,
    });
  }

  deleteUser(userId: string): Promise<ErasureReceipt | undefined> {
    const run = this.db.transaction((): ErasureReceipt | undefined => {
      const at = now();
      this.db
        .prepare(
          'INSERT INTO erasures (user_id, erased_at) VALUES (?, ?) ON CONFLICT (user_id) DO UPDATE SET erased_at = excluded.erased_at',
        )
        .run(userId, at);
      const templates = this.db.prepare('DELETE FROM templates WHERE user_id = ?').run(userId).changes;
      const users = this.db.prepare('DELETE FROM users WHERE user_id = ?').run(userId).changes;
      return users === 0 ? undefined : { user_id: userId, templates_erased: templates, erased_at: at };
    });
    return Promise.resolve(run.immediate());
  }

  erasedAt(userId: string): Promise<string | undefined> {
    const row = this.db
      .prepare<[string], { erased_at: string }>('SELECT erased_at FROM erasures WHERE user_id = ?')
      .get(userId);
    return Promise.resolve(row?.erased_at);
  }

  gallery(group?: string): Promise<GalleryEntry[]> {
    const rows =
      group === undefined
        ? this.db.prepare<[], GalleryRow>(GALLERY_SQL).all()
        : this.db.prepare<[string], GalleryRow>(`${GALLERY_SQL} WHERE u.grp = ?`).all(group);
    return Promise.resolve(rows.map(toGalleryEntry));
  }

  galleryPage(q: { cursor?: string; limit: number }): Promise<Page<GalleryEntry>> {
    const rows = this.db
      .prepare<[string, number], GalleryRow>(
        `${GALLERY_SQL} WHERE t.template_id > ? ORDER BY t.template_id LIMIT ?`,
      )
      .all(decodeCursor(q.cursor) ?? '', q.limit + 1);
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    return Promise.resolve({
      items: page.map(toGalleryEntry),
      next_cursor: rows.length > q.limit && last ? encodeCursor(last.template_id) : null,
    });
  }

  userTemplates(userId: string): Promise<GalleryEntry[]> {
    const rows = this.db
      .prepare<[string], GalleryRow>(`${GALLERY_SQL} WHERE u.user_id = ? ORDER BY t.template_id`)
      .all(userId);
    return Promise.resolve(rows.map(toGalleryEntry));
  }

  templateEmbeddings(templateIds: string[]): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    const stmt = this.db.prepare<[string], { template_id: string; embedding: Buffer }>(
      'SELECT template_id, embedding FROM templates WHERE template_id = ?',
    );
    for (const id of templateIds) {
      const row = stmt.get(id);
      if (row) out.set(row.template_id, fromBlob(row.embedding));
    }
    return Promise.resolve(out);
  }

  recordSighting(s: Sighting, windowMs: number): Promise<{ attendance_id: string }> {
    const run = this.db.transaction((): { attendance_id: string } => {
      const seen = this.db
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
          ? this.db
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
        this.db
          .prepare(
            `INSERT INTO attendance (attendance_id, kind, user_id, name, grp, camera_id, timestamp, last_seen, sightings,
               similarity_score, distance, bbox, thumbnail, embedding, job_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
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
        this.db
          .prepare(
            `UPDATE attendance SET timestamp = ?, last_seen = ?, sightings = ?, similarity_score = ?, distance = ?, bbox = ?,
               thumbnail = ? WHERE attendance_id = ?`,
          )
          .run(
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
          this.db
            .prepare('UPDATE sightings SET attendance_id = ? WHERE attendance_id = ?')
            .run(attendance_id, r.attendance_id);
          this.db.prepare('DELETE FROM attendance WHERE attendance_id = ?').run(r.attendance_id);
        }
      }
      this.db
        .prepare('INSERT INTO sightings (sighting_id, attendance_id) VALUES (?, ?)')
        .run(s.sighting_id, attendance_id);
      return { attendance_id };
    });
    return Promise.resolve(run.immediate());
  }

  listAttendance(q: AttendanceQuery): Promise<Page<AttendanceRecord>> {
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
    const rows = this.db.prepare<(string | number)[], AttendanceRow>(sql).all(...args, q.limit + 1);
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    return Promise.resolve({
      items: page.map(toAttendance),
      next_cursor:
        rows.length > q.limit && last ? encodeCursor(`${last.timestamp}|${last.attendance_id}`) : null,
    });
  }

  eraseAttendancePhotos(userId: string): Promise<string[]> {
    const run = this.db.transaction((): string[] => {
      const keys = this.db
        .prepare<[string], { thumbnail: string }>(
          'SELECT thumbnail FROM attendance WHERE user_id = ? AND thumbnail IS NOT NULL',
        )
        .all(userId)
        .map((r) => r.thumbnail);
      this.db.prepare('UPDATE attendance SET thumbnail = NULL WHERE user_id = ?').run(userId);
      return keys;
    });
    return Promise.resolve(run.immediate());
  }

  createJob(job: BatchJob): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO jobs (job_id, type, total, status, created_at, started_at, finished_at, webhook_url, webhook_secret)
         VALUES (@job_id, @type, @total, @status, @created_at, @started_at, @finished_at, @webhook_url, @webhook_secret)`,
      )
      .run(job);
    return Promise.resolve();
  }

  getJob(jobId: string): Promise<BatchJob | undefined> {
    return Promise.resolve(
      this.db.prepare<[string], JobRow>('SELECT * FROM jobs WHERE job_id = ?').get(jobId),
    );
  }

  updateJob(
    jobId: string,
    patch: Partial<Pick<BatchJob, 'status' | 'started_at' | 'finished_at'>>,
  ): Promise<void> {
    const fields = (['status', 'started_at', 'finished_at'] as const).filter((f) => patch[f] !== undefined);
    if (fields.length > 0) {
      const set = fields.map((f) => `${f} = @${f}`).join(', ');
      this.db.prepare(`UPDATE jobs SET ${set} WHERE job_id = @job_id`).run({ ...patch, job_id: jobId });
    }
    return Promise.resolve();
  }

  putItemResult(r: ItemResult): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO item_results (job_id, idx, ref, outcome, ok, detail, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (job_id, idx) DO UPDATE SET ref = excluded.ref, outcome = excluded.outcome, ok = excluded.ok,
           detail = excluded.detail, finished_at = excluded.finished_at`,
      )
      .run(r.job_id, r.index, r.ref, r.outcome, r.ok ? 1 : 0, JSON.stringify(r.detail), r.finished_at);
    return Promise.resolve();
  }

  getItemResult(jobId: string, index: number): Promise<ItemResult | undefined> {
    const row = this.db
      .prepare<[string, number], ItemRow>('SELECT * FROM item_results WHERE job_id = ? AND idx = ?')
      .get(jobId, index);
    return Promise.resolve(row ? toItem(row) : undefined);
  }

  listItemResults(jobId: string, q: { cursor?: string; limit: number }): Promise<Page<ItemResult>> {
    const after = Number(decodeCursor(q.cursor) ?? -1);
    const rows = this.db
      .prepare<[string, number, number], ItemRow>(
        'SELECT * FROM item_results WHERE job_id = ? AND idx > ? ORDER BY idx LIMIT ?',
      )
      .all(jobId, after, q.limit + 1);
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    return Promise.resolve({
      items: page.map(toItem),
      next_cursor: rows.length > q.limit && last ? encodeCursor(last.idx) : null,
    });
  }

  countItemResults(jobId: string): Promise<{ done: number; failed: number }> {
    const row = this.db
      .prepare<[string], { done: number; failed: number | null }>(
        'SELECT COUNT(*) AS done, SUM(1 - ok) AS failed FROM item_results WHERE job_id = ?',
      )
      .get(jobId);
    return Promise.resolve({ done: row?.done ?? 0, failed: row?.failed ?? 0 });
  }

  claimIdempotencyKey(
    key: string,
    bodySha256: string,
  ): Promise<{ claimed: true } | { claimed: false; record: IdempotencyRecord }> {
    const inserted = this.db
      .prepare(
        'INSERT INTO idempotency (key, body_sha256, response, created_at) VALUES (?, ?, NULL, ?) ON CONFLICT (key) DO NOTHING',
      )
      .run(key, bodySha256, now()).changes;
    if (inserted === 1) return Promise.resolve({ claimed: true });
    const row = this.db
      .prepare<[string], { key: string; body_sha256: string; response: string | null; created_at: string }>(
        'SELECT * FROM idempotency WHERE key = ?',
      )
      .get(key);
    if (!row) return this.claimIdempotencyKey(key, bodySha256); // released in between
    return Promise.resolve({
      claimed: false,
      record: {
        ...row,
        response: row.response ? (JSON.parse(row.response) as IdempotencyRecord['response']) : null,
      },
    });
  }

  setIdempotencyResponse(key: string, response: { status: number; body: unknown }): Promise<void> {
    this.db.prepare('UPDATE idempotency SET response = ? WHERE key = ?').run(JSON.stringify(response), key);
    return Promise.resolve();
  }

  releaseIdempotencyKey(key: string): Promise<void> {
    this.db.prepare('DELETE FROM idempotency WHERE key = ? AND response IS NULL').run(key);
    return Promise.resolve();
  }

  addWebhookDelivery(d: WebhookDelivery): Promise<void> {
    this.db
      .prepare(
        `INSERT OR REPLACE INTO webhook_deliveries (delivery_id, job_id, event, url, attempt, status_code, error, delivered, at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        d.delivery_id,
        d.job_id,
        d.event,
        d.url,
        d.attempt,
        d.status_code,
        d.error,
        d.delivered ? 1 : 0,
        d.at,
      );
    return Promise.resolve();
  }

  listWebhookDeliveries(jobId: string): Promise<WebhookDelivery[]> {
    type Row = Omit<WebhookDelivery, 'delivered'> & { delivered: number };
    const rows = this.db
      .prepare<[string], Row>('SELECT * FROM webhook_deliveries WHERE job_id = ? ORDER BY at, attempt')
      .all(jobId);
    return Promise.resolve(rows.map((r) => ({ ...r, delivered: r.delivered === 1 })));
  }

  private toUser(row: UserRow): User {
    const templates = this.db
      .prepare<[string], TemplateRow>(
        'SELECT * FROM templates WHERE user_id = ? ORDER BY created_at, template_id',
      )
      .all(row.user_id)
      .map((t): TemplateSummary => ({
        template_id: t.template_id,
        model: t.model,
        detection_score: t.detection_score,
        quality: JSON.parse(t.quality) as TemplateSummary['quality'],
        photo_sha256: t.photo_sha256,
        created_at: t.created_at,
      }));
    return {
      user_id: row.user_id,
      name: row.name,
      group: row.grp,
      metadata: JSON.parse(row.metadata) as Record<string, unknown>,
      enrolled_at: row.enrolled_at,
      updated_at: row.updated_at,
      templates,
    };
  }
}
