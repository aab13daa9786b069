import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { FsBlobStore } from '../../../src/shared/store/blobs.js';
import { sqliteStore } from '../../../src/shared/store/sqlite-store.js';
import { storeConformance } from './conformance.js';
import { CHAINING_SIGHTING, embedding, item, job, template, user } from './conformance/fixtures.js';

storeConformance('SQLite store + FsBlobStore', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'shelia-store-'));
  const store = sqliteStore(join(dir, 'shelia.db'));
  await store.init();
  return {
    store,
    blobs: new FsBlobStore(join(dir, 'blobs')),
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

void describe('SQLite store on one file', () => {
  void it('two instances (API and worker processes) see each other’s writes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shelia-store-'));
    const file = join(dir, 'data', 'shelia.db');
    const api = sqliteStore(file);
    const worker = sqliteStore(file);
    try {
      await api.init();
      await worker.init();

      await api.createJob({
        job_id: 'job-1',
        type: 'enrollment',
        total: 1,
        status: 'queued',
        created_at: '2026-01-01T00:00:00.000Z',
        started_at: null,
        finished_at: null,
        webhook_url: null,
        webhook_secret: null,
        photos: 'stored',
        failure_reason: null,
      });
      await worker.updateJob('job-1', { status: 'active', started_at: '2026-01-01T00:00:01.000Z' });
      const enrolled = await worker.enroll(
        { user_id: 'u1', name: 'Ada', group: null, metadata: {} },
        {
          model: 'arcface-test',
          embedding: new Float32Array([0.5, -0.25]),
          detection_score: 0.9,
          quality: { face_size: 100, sharpness: 20 },
          photo_sha256: 'photo-a',
        },
        'add',
      );
      assert.equal(enrolled, 'ENROLLED');
      await worker.putItemResult({
        job_id: 'job-1',
        index: 0,
        ref: 'u1',
        outcome: 'ENROLLED',
        ok: true,
        detail: {},
        finished_at: '2026-01-01T00:00:02.000Z',
      });

      assert.equal((await api.getJob('job-1'))?.status, 'active');
      assert.equal((await api.getUser('u1'))?.templates.length, 1);
      assert.deepEqual(await api.countItemResults('job-1'), { done: 1, failed: 0 });
      assert.deepEqual(
        (await api.gallery()).map((e) => [...e.embedding]),
        [[0.5, -0.25]],
      );

      // An idempotency key claimed through one is taken for the other.
      assert.equal((await api.claimIdempotencyKey('key-1', 'sha')).claimed, true);
      assert.equal((await worker.claimIdempotencyKey('key-1', 'sha')).claimed, false);
      assert.ok(await api.deleteUser('u1'));
      assert.equal(await worker.getUser('u1'), undefined);
      assert.ok(await worker.erasedAt('u1'));
    } finally {
      await api.close();
      await worker.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

void describe('SQLite store on a database from before photos and failure_reason', () => {
  void it('adds both columns: final batches say deleted (as they were), others stored', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shelia-store-'));
    const file = join(dir, 'shelia.db');
    const old = new Database(file);
    old.exec(`CREATE TABLE jobs (
      job_id TEXT PRIMARY KEY, type TEXT NOT NULL, total INTEGER NOT NULL, status TEXT NOT NULL,
      created_at TEXT NOT NULL, started_at TEXT, finished_at TEXT, webhook_url TEXT, webhook_secret TEXT)`);
    const insert = old.prepare(
      "INSERT INTO jobs VALUES (?, 'embed', 1, ?, '2026-01-01T00:00:00.000Z', NULL, NULL, NULL, NULL)",
    );
    for (const [id, status] of [
      ['j-done', 'completed'],
      ['j-errors', 'completed_with_errors'],
      ['j-failed', 'failed'],
      ['j-active', 'active'],
      ['j-queued', 'queued'],
    ])
      insert.run(id, status);
    old.close();
    // Two processes starting on the same file: the second finds the columns there.
    const a = sqliteStore(file);
    const b = sqliteStore(file);
    try {
      await a.init();
      await b.init();
      const photos = async (id: string) => {
        const j = await b.getJob(id);
        return [j?.photos, j?.failure_reason];
      };
      assert.deepEqual(await photos('j-done'), ['deleted', null]);
      assert.deepEqual(await photos('j-errors'), ['deleted', null]);
      assert.deepEqual(await photos('j-failed'), ['deleted', null]);
      assert.deepEqual(await photos('j-active'), ['stored', null]);
      assert.deepEqual(await photos('j-queued'), ['stored', null]);
      await a.updateJob('j-active', { photos: 'pending_deletion', failure_reason: 'x' });
      assert.deepEqual(await photos('j-active'), ['pending_deletion', 'x']);
    } finally {
      await a.close();
      await b.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

void describe('SQLite store on a database from before the attendance evidence columns', () => {
  void it('adds them: old records read as decided (closed windows), new sightings chain onto them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shelia-store-'));
    const file = join(dir, 'shelia.db');
    const old = new Database(file);
    old.exec(`CREATE TABLE attendance (
      attendance_id TEXT PRIMARY KEY, kind TEXT NOT NULL, user_id TEXT, name TEXT, grp TEXT, camera_id TEXT NOT NULL,
      timestamp TEXT NOT NULL, last_seen TEXT NOT NULL, sightings INTEGER NOT NULL, similarity_score REAL, distance REAL,
      bbox TEXT NOT NULL, thumbnail TEXT, embedding BLOB, job_id TEXT NOT NULL);
      CREATE TABLE sightings (sighting_id TEXT PRIMARY KEY, attendance_id TEXT NOT NULL);`);
    const insert = old.prepare(
      `INSERT INTO attendance VALUES (?, 'match', ?, ?, NULL, 'cam-1', ?, ?, ?, 0.8, 0.2, '{"x":0,"y":0,"width":9,"height":9}', NULL, NULL, 'job-old')`,
    );
    insert.run('r-1', 'u1', 'Name u1', '2026-03-02T09:00:00.000Z', '2026-03-02T09:02:00.000Z', 2);
    insert.run('r-2', 'u2', 'Name u2', '2026-03-02T09:00:00.000Z', '2026-03-02T09:00:00.000Z', 1);
    old.prepare("INSERT INTO sightings VALUES ('old-1', 'r-1')").run();
    old.close();
    const store = sqliteStore(file);
    try {
      await store.init();
      // Their windows are taken to end at their last sighting: decided as soon as it is past.
      const now = '2026-03-02T09:01:00.000Z';
      const { items } = await store.listAttendance({ limit: 10, now });
      assert.deepEqual(
        items
          .map((r) => [r.attendance_id, r.status, r.confirming_sightings, r.window_closes_at, r.threshold])
          .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
        [
          ['r-1', 'confirmed', 2, '2026-03-02T09:02:00.000Z', null],
          ['r-2', 'unconfirmed', 1, '2026-03-02T09:00:00.000Z', null],
        ],
      );
      const unconfirmed = await store.listAttendance({ limit: 10, status: 'unconfirmed', now });
      assert.deepEqual(
        unconfirmed.items.map((r) => r.attendance_id),
        ['r-2'],
      );
      assert.deepEqual(await store.recordSighting(CHAINING_SIGHTING, 5 * 60_000), { attendance_id: 'r-2' });
      const [merged] = await store.attendanceOfJob('job-new');
      assert.deepEqual(
        [
          merged?.sightings,
          merged?.confirming_sightings,
          merged?.strong_sightings,
          merged?.status,
          merged?.window_closes_at,
          merged?.threshold,
        ],
        [2, 2, 1, 'confirmed', '2026-03-02T09:08:00.000Z', 0.59],
      );
      assert.deepEqual(await store.attendanceOfJob('job-old'), []);
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

void describe('SQLite statements', () => {
  void it('an enrollment item’s store calls prepare no statement after the first item (each prepare cost ~0.1 ms)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shelia-store-'));
    const store = sqliteStore(join(dir, 'shelia.db'));
    // Counts the library's prepare calls; the store and its SQLite file are real.
    // eslint-disable-next-line @typescript-eslint/unbound-method -- restored in finally, called with its this
    const prepare = Database.prototype.prepare;
    let prepared = 0;
    Database.prototype.prepare = function counted(this: Database.Database, sql: string) {
      prepared++;
      return prepare.call(this, sql);
    } as typeof prepare;
    try {
      await store.init();
      await store.createJob(job('job-1'));
      // What the worker and a polling caller ask per enrollment item (bench:enroll's store counts).
      const enrollmentItem = async (i: number) => {
        const userId = `u${i}`;
        await store.erasedAt(userId);
        await store.enroll(
          user(userId),
          template(`photo-${i}`, embedding(i + 1)),
          'add',
          '2026-01-01T00:00:00.000Z',
        );
        const templates = await store.userTemplates(userId);
        await store.templateEmbeddings(templates.map((t) => t.template_id));
        await store.putItemResult(item('job-1', i, true, 'ENROLLED'));
        await store.getJob('job-1');
        await store.countItemResults('job-1');
      };
      await enrollmentItem(0);
      const afterFirst = prepared;
      await enrollmentItem(1);
      await enrollmentItem(2);
      assert.equal(prepared - afterFirst, 0, 'statements prepared by the second and third items');
    } finally {
      Database.prototype.prepare = prepare;
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
