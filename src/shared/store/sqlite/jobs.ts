import type Database from 'better-sqlite3';
import { decodeIndexCursor, encodeCursor } from '../cursor.js';
import type {
  BatchJob,
  BatchJobPatch,
  IdempotencyRecord,
  ItemResult,
  Page,
  WebhookDelivery,
} from '../types.js';
import { now, toItem, type ItemRow, type JobRow } from './rows.js';

export function createJob(db: Database.Database, job: BatchJob): Promise<void> {
  db.prepare(
    `INSERT INTO jobs (job_id, type, total, status, created_at, started_at, finished_at, webhook_url, webhook_secret,
           photos, failure_reason)
         VALUES (@job_id, @type, @total, @status, @created_at, @started_at, @finished_at, @webhook_url, @webhook_secret,
           @photos, @failure_reason)`,
  ).run(job);
  return Promise.resolve();
}

export function getJob(db: Database.Database, jobId: string): Promise<BatchJob | undefined> {
  return Promise.resolve(db.prepare<[string], JobRow>('SELECT * FROM jobs WHERE job_id = ?').get(jobId));
}

const PATCHABLE = ['status', 'started_at', 'finished_at', 'photos', 'failure_reason'] as const;

export function updateJob(db: Database.Database, jobId: string, patch: BatchJobPatch): Promise<void> {
  const fields = PATCHABLE.filter((f) => patch[f] !== undefined);
  if (fields.length > 0) {
    const set = fields.map((f) => `${f} = @${f}`).join(', ');
    db.prepare(`UPDATE jobs SET ${set} WHERE job_id = @job_id`).run({ ...patch, job_id: jobId });
  }
  return Promise.resolve();
}

export function putItemResult(db: Database.Database, r: ItemResult): Promise<void> {
  db.prepare(
    `INSERT INTO item_results (job_id, idx, ref, outcome, ok, detail, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (job_id, idx) DO UPDATE SET ref = excluded.ref, outcome = excluded.outcome, ok = excluded.ok,
           detail = excluded.detail, finished_at = excluded.finished_at`,
  ).run(r.job_id, r.index, r.ref, r.outcome, r.ok ? 1 : 0, JSON.stringify(r.detail), r.finished_at);
  return Promise.resolve();
}

export function getItemResult(
  db: Database.Database,
  jobId: string,
  index: number,
): Promise<ItemResult | undefined> {
  const row = db
    .prepare<[string, number], ItemRow>('SELECT * FROM item_results WHERE job_id = ? AND idx = ?')
    .get(jobId, index);
  return Promise.resolve(row ? toItem(row) : undefined);
}

export function listItemResults(
  db: Database.Database,
  jobId: string,
  q: { cursor?: string; limit: number; outcome?: string },
): Promise<Page<ItemResult>> {
  const after = decodeIndexCursor(q.cursor) ?? -1;
  const rows =
    q.outcome === undefined
      ? db
          .prepare<[string, number, number], ItemRow>(
            'SELECT * FROM item_results WHERE job_id = ? AND idx > ? ORDER BY idx LIMIT ?',
          )
          .all(jobId, after, q.limit + 1)
      : db
          .prepare<[string, string, number, number], ItemRow>(
            'SELECT * FROM item_results WHERE job_id = ? AND outcome = ? AND idx > ? ORDER BY idx LIMIT ?',
          )
          .all(jobId, q.outcome, after, q.limit + 1);
  const page = rows.slice(0, q.limit);
  const last = page[page.length - 1];
  return Promise.resolve({
    items: page.map(toItem),
    next_cursor: rows.length > q.limit && last ? encodeCursor(last.idx) : null,
  });
}

export function countItemResults(
  db: Database.Database,
  jobId: string,
): Promise<{ done: number; failed: number }> {
  const row = db
    .prepare<[string], { done: number; failed: number | null }>(
      'SELECT COUNT(*) AS done, SUM(1 - ok) AS failed FROM item_results WHERE job_id = ?',
    )
    .get(jobId);
  return Promise.resolve({ done: row?.done ?? 0, failed: row?.failed ?? 0 });
}

export function claimIdempotencyKey(
  db: Database.Database,
  key: string,
  bodySha256: string,
): Promise<{ claimed: true } | { claimed: false; record: IdempotencyRecord }> {
  const inserted = db
    .prepare(
      'INSERT INTO idempotency (key, body_sha256, response, created_at) VALUES (?, ?, NULL, ?) ON CONFLICT (key) DO NOTHING',
    )
    .run(key, bodySha256, now()).changes;
  if (inserted === 1) return Promise.resolve({ claimed: true });
  const row = db
    .prepare<[string], { key: string; body_sha256: string; response: string | null; created_at: string }>(
      'SELECT * FROM idempotency WHERE key = ?',
    )
    .get(key);
  if (!row) return claimIdempotencyKey(db, key, bodySha256); // released in between
  return Promise.resolve({
    claimed: false,
    record: {
      ...row,
      response: row.response ? (JSON.parse(row.response) as IdempotencyRecord['response']) : null,
    },
  });
}

export function setIdempotencyResponse(
  db: Database.Database,
  key: string,
  response: { status: number; body: unknown },
): Promise<void> {
  db.prepare('UPDATE idempotency SET response = ? WHERE key = ?').run(JSON.stringify(response), key);
  return Promise.resolve();
}

export function releaseIdempotencyKey(db: Database.Database, key: string, createdAt?: string): Promise<void> {
  if (createdAt === undefined)
    db.prepare('DELETE FROM idempotency WHERE key = ? AND response IS NULL').run(key);
  else
    db.prepare('DELETE FROM idempotency WHERE key = ? AND response IS NULL AND created_at = ?').run(
      key,
      createdAt,
    );
  return Promise.resolve();
}

export function addWebhookDelivery(db: Database.Database, d: WebhookDelivery): Promise<void> {
  db.prepare(
    `INSERT OR REPLACE INTO webhook_deliveries (delivery_id, job_id, event, url, attempt, status_code, error, delivered, at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
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

export function listWebhookDeliveries(db: Database.Database, jobId: string): Promise<WebhookDelivery[]> {
  type Row = Omit<WebhookDelivery, 'delivered'> & { delivered: number };
  const rows = db
    .prepare<[string], Row>('SELECT * FROM webhook_deliveries WHERE job_id = ? ORDER BY at, attempt')
    .all(jobId);
  return Promise.resolve(rows.map((r) => ({ ...r, delivered: r.delivered === 1 })));
}
