/**
 * What a batch item asks of the store (real SQLite, real blob files): the batch is read once per
 * process, not per item; an earlier outcome is looked up only when the job ran before.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { FsBlobStore } from '../../src/shared/store/blobs.js';
import { sqliteStore } from '../../src/shared/store/sqlite-store.js';
import { runItem } from '../../src/worker/batch-item.js';
import type { ProcessorDeps } from '../../src/worker/processors/types.js';

async function setUp() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'shelia-batch-item-'));
  const sqlite = sqliteStore(path.join(dir, 'shelia.db'));
  await sqlite.init();
  const calls: string[] = [];
  const store = new Proxy(sqlite, {
    get(t, prop, receiver) {
      const value: unknown = Reflect.get(t, prop, receiver);
      if (typeof value !== 'function' || typeof prop !== 'string') return value;
      return (...args: unknown[]): unknown => {
        calls.push(prop);
        return (value as (...a: unknown[]) => unknown).apply(t, args);
      };
    },
  });
  const blobs = new FsBlobStore(path.join(dir, 'blobs'));
  const logger = { warn: () => undefined };
  const deps = { store, blobs, config: { keepPhotos: false }, logger } as unknown as ProcessorDeps;
  await sqlite.createJob({
    job_id: 'job_a',
    type: 'enrollment',
    total: 3,
    status: 'queued',
    created_at: new Date().toISOString(),
    started_at: null,
    finished_at: null,
    webhook_url: null,
    webhook_secret: null,
    photos: 'stored',
    failure_reason: null,
  });
  return {
    sqlite,
    calls,
    deps,
    async close() {
      await sqlite.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const ok = () => Promise.resolve({ outcome: 'ENROLLED', ok: true, detail: {} });

test('first starts read the batch once per process and never look for an earlier outcome', async () => {
  const s = await setUp();
  try {
    for (const index of [0, 1]) {
      const r = await runItem(s.deps, { job_id: 'job_a', index, ref: null, photos: [] }, ok, {
        attemptsStarted: 1,
      });
      assert.equal(r.outcome, 'ENROLLED');
    }
    assert.equal(s.calls.filter((c) => c === 'getJob').length, 1);
    assert.equal(s.calls.filter((c) => c === 'getItemResult').length, 0);
    assert.equal((await s.sqlite.getJob('job_a'))?.status, 'active');
    assert.equal((await s.sqlite.countItemResults('job_a')).done, 2);
  } finally {
    await s.close();
  }
});

test('a job started before keeps the outcome it recorded and is not run again', async () => {
  const s = await setUp();
  try {
    await s.sqlite.putItemResult({
      job_id: 'job_a',
      index: 2,
      ref: null,
      outcome: 'UPDATED',
      ok: true,
      detail: {},
      finished_at: new Date().toISOString(),
    });
    let ran = false;
    const r = await runItem(
      s.deps,
      { job_id: 'job_a', index: 2, ref: null, photos: [] },
      () => {
        ran = true;
        return ok();
      },
      { attemptsStarted: 2 },
    );
    assert.deepEqual(r, { outcome: 'UPDATED', ok: true });
    assert.equal(ran, false);
  } finally {
    await s.close();
  }
});
