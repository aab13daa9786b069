import type Database from 'better-sqlite3';
import type { IdempotencyRepository } from '../repositories/idempotency.js';
import type { IdempotencyRecord } from '../types.js';
import { now } from './rows.js';
import { statements } from './statements.js';

type Row = Omit<IdempotencyRecord, 'response'> & { response: string | null };

/** Idempotency keys on one SQLite database. */
export function sqliteIdempotency(db: Database.Database): IdempotencyRepository {
  const repository: IdempotencyRepository = {
    claimIdempotencyKey(key, bodySha256) {
      const inserted = statements(db)(
        'INSERT INTO idempotency (key, body_sha256, response, created_at) VALUES (?, ?, NULL, ?) ON CONFLICT (key) DO NOTHING',
      ).run(key, bodySha256, now()).changes;
      if (inserted === 1) return Promise.resolve({ claimed: true });
      const row = statements(db)<[string], Row>('SELECT * FROM idempotency WHERE key = ?').get(key);
      if (!row) return repository.claimIdempotencyKey(key, bodySha256); // released in between
      return Promise.resolve({
        claimed: false,
        record: {
          ...row,
          response: row.response ? (JSON.parse(row.response) as IdempotencyRecord['response']) : null,
        },
      });
    },

    setIdempotencyResponse(key, response) {
      statements(db)('UPDATE idempotency SET response = ? WHERE key = ?').run(JSON.stringify(response), key);
      return Promise.resolve();
    },

    releaseIdempotencyKey(key, createdAt) {
      if (createdAt === undefined)
        statements(db)('DELETE FROM idempotency WHERE key = ? AND response IS NULL').run(key);
      else
        statements(db)('DELETE FROM idempotency WHERE key = ? AND response IS NULL AND created_at = ?').run(
          key,
          createdAt,
        );
      return Promise.resolve();
    },
  };
  return repository;
}
