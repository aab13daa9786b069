import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { sqliteAttendance } from '../../../src/shared/store/sqlite/attendance.js';
import { sqliteBatches } from '../../../src/shared/store/sqlite/batches.js';
import { sqliteIdempotency } from '../../../src/shared/store/sqlite/idempotency.js';
import { sqliteUnknowns } from '../../../src/shared/store/sqlite/unknowns.js';
import { sqliteUsers } from '../../../src/shared/store/sqlite/users.js';
import { sqliteWebhooks } from '../../../src/shared/store/sqlite/webhooks.js';
import { composeStore, type StoreParts } from '../../../src/shared/store/store.js';

void describe('composeStore', () => {
  void it('refuses a method given by two repositories instead of letting the later one win', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shelia-compose-'));
    const db = new Database(join(dir, 'shelia.db'));
    try {
      const parts: StoreParts = {
        lifecycle: {
          kind: 'sqlite',
          init: () => Promise.resolve(),
          close: () => Promise.resolve(),
          ping: () => Promise.resolve(),
        },
        users: sqliteUsers(db),
        batches: sqliteBatches(db),
        idempotency: sqliteIdempotency(db),
        attendance: sqliteAttendance(db),
        unknowns: sqliteUnknowns(db),
        webhooks: sqliteWebhooks(db),
      };
      const store = composeStore(parts);
      assert.equal(store.kind, 'sqlite');
      assert.equal(typeof store.enroll, 'function');
      assert.equal(typeof store.recordSighting, 'function');
      const twice = {
        ...parts,
        webhooks: { ...parts.webhooks, getJob: (id: string) => parts.batches.getJob(id) },
      };
      assert.throws(() => composeStore(twice), /"getJob" is given by two repositories/);
    } finally {
      db.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
