import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { sqliteAttendance } from './sqlite/attendance.js';
import { sqliteBatches } from './sqlite/batches.js';
import { sqliteIdempotency } from './sqlite/idempotency.js';
import { migrate, SCHEMA } from './sqlite/schema.js';
import { sqliteUnknowns } from './sqlite/unknowns.js';
import { sqliteUsers } from './sqlite/users.js';
import { sqliteWebhooks } from './sqlite/webhooks.js';
import { composeStore, type Store } from './store.js';

/**
 * The embedded default: one SQLite file (WAL, so the API reads while workers write; busy
 * timeout, so concurrent writers from several processes wait instead of failing), one module per
 * repository in ./sqlite/. Call `init()` before use (creates and migrates the tables).
 */
export function sqliteStore(path: string): Store {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  db.pragma('synchronous = NORMAL');
  return composeStore({
    lifecycle: {
      kind: 'sqlite',
      init() {
        db.exec(SCHEMA);
        migrate(db);
        return Promise.resolve();
      },
      close() {
        db.close();
        return Promise.resolve();
      },
      ping() {
        db.prepare('SELECT 1').get();
        return Promise.resolve();
      },
    },
    users: sqliteUsers(db),
    batches: sqliteBatches(db),
    idempotency: sqliteIdempotency(db),
    attendance: sqliteAttendance(db),
    unknowns: sqliteUnknowns(db),
    webhooks: sqliteWebhooks(db),
  });
}
