import type Database from 'better-sqlite3';
import { byIndex, keysetPage } from '../cursor.js';
import type { BatchRepository } from '../repositories/batches.js';
import { toItem, type ItemRow, type JobRow } from './rows.js';
import { statements } from './statements.js';

const PATCHABLE = ['status', 'started_at', 'finished_at', 'photos', 'failure_reason'] as const;
const ITEMS = byIndex((r: ItemRow) => r.idx);

/** Batches and their item results on one SQLite database. */
export function sqliteBatches(db: Database.Database): BatchRepository {
  return {
    createJob(job) {
      statements(db)(
        `INSERT INTO jobs (job_id, type, total, status, created_at, started_at, finished_at, webhook_url, webhook_secret,
           photos, failure_reason)
         VALUES (@job_id, @type, @total, @status, @created_at, @started_at, @finished_at, @webhook_url, @webhook_secret,
           @photos, @failure_reason)`,
      ).run(job);
      return Promise.resolve();
    },

    getJob(jobId) {
      return Promise.resolve(
        statements(db)<[string], JobRow>('SELECT * FROM jobs WHERE job_id = ?').get(jobId),
      );
    },

    updateJob(jobId, patch) {
      const fields = PATCHABLE.filter((f) => patch[f] !== undefined);
      if (fields.length > 0) {
        const set = fields.map((f) => `${f} = @${f}`).join(', ');
        statements(db)(`UPDATE jobs SET ${set} WHERE job_id = @job_id`).run({ ...patch, job_id: jobId });
      }
      return Promise.resolve();
    },

    putItemResult(r) {
      statements(db)(
        `INSERT INTO item_results (job_id, idx, ref, outcome, ok, detail, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (job_id, idx) DO UPDATE SET ref = excluded.ref, outcome = excluded.outcome, ok = excluded.ok,
           detail = excluded.detail, finished_at = excluded.finished_at`,
      ).run(r.job_id, r.index, r.ref, r.outcome, r.ok ? 1 : 0, JSON.stringify(r.detail), r.finished_at);
      return Promise.resolve();
    },

    getItemResult(jobId, index) {
      const row = statements(db)<[string, number], ItemRow>(
        'SELECT * FROM item_results WHERE job_id = ? AND idx = ?',
      ).get(jobId, index);
      return Promise.resolve(row ? toItem(row) : undefined);
    },

    listItemResults(jobId, q) {
      return keysetPage(
        q,
        ITEMS,
        (after = -1, limit) =>
          q.outcome === undefined
            ? statements(db)<[string, number, number], ItemRow>(
                'SELECT * FROM item_results WHERE job_id = ? AND idx > ? ORDER BY idx LIMIT ?',
              ).all(jobId, after, limit)
            : statements(db)<[string, string, number, number], ItemRow>(
                'SELECT * FROM item_results WHERE job_id = ? AND outcome = ? AND idx > ? ORDER BY idx LIMIT ?',
              ).all(jobId, q.outcome, after, limit),
        (rows) => rows.map(toItem),
      );
    },

    countItemResults(jobId) {
      const row = statements(db)<[string], { done: number; failed: number | null }>(
        'SELECT COUNT(*) AS done, SUM(1 - ok) AS failed FROM item_results WHERE job_id = ?',
      ).get(jobId);
      return Promise.resolve({ done: row?.done ?? 0, failed: row?.failed ?? 0 });
    },
  };
}
