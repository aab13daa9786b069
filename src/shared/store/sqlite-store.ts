import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { decodeCursor, encodeCursor } from './cursor.js';
import type { Store } from './store.js';
import type {
  BatchJob,
  EnrollOutcome,
  ErasureReceipt,
  GalleryEntry,
  IdempotencyRecord,
  ItemResult,
  Page,
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

const now = () => new Date().toISOString();
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
           ON CONFLICT (user_id) DO UPDATE SET name = excluded.name, grp = excluded.grp,
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
    const sql = `SELECT t.template_id, t.embedding, u.user_id, u.name, u.grp FROM templates t JOIN users u USING (user_id)`;
    type Row = { template_id: string; embedding: Buffer; user_id: string; name: string; grp: string | null };
    const rows =
      group === undefined
        ? this.db.prepare<[], Row>(sql).all()
        : this.db.prepare<[string], Row>(`${sql} WHERE u.grp = ?`).all(group);
    return Promise.resolve(
      rows.map((r) => ({
        user_id: r.user_id,
        name: r.name,
        group: r.grp,
        template_id: r.template_id,
        embedding: fromBlob(r.embedding),
      })),
    );
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
      items: page.map((r) => ({
        job_id: r.job_id,
        index: r.idx,
        ref: r.ref,
        outcome: r.outcome,
        ok: r.ok === 1,
        detail: JSON.parse(r.detail) as Record<string, unknown>,
        finished_at: r.finished_at,
      })),
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
