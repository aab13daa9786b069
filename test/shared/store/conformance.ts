import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { BlobStore } from '../../../src/shared/store/blobs.js';
import type {
  BatchJob,
  ItemResult,
  Store,
  TemplateInput,
  UserInput,
  WebhookDelivery,
} from '../../../src/shared/store/store.js';

/**
 * The contracts of Store (store.ts) and BlobStore (blobs.ts), run against every implementation:
 * SqliteStore + FsBlobStore always, MongoStore + GridFsBlobStore when a MongoDB server is there.
 * `open` gives a fresh, empty store for each test; `cleanup` closes and removes it.
 */
export function storeConformance(
  name: string,
  open: () => Promise<{ store: Store; blobs: BlobStore; cleanup(): Promise<void> }>,
): void {
  void describe(name, () => {
    let opened: { store: Store; blobs: BlobStore; cleanup(): Promise<void> };
    let store: Store;
    let blobs: BlobStore;

    beforeEach(async () => {
      opened = await open();
      ({ store, blobs } = opened);
    });
    afterEach(async () => {
      await opened.cleanup();
    });

    void describe('users and templates', () => {
      void it('enroll returns ENROLLED for a new user, then UPDATED, and updates the user', async () => {
        assert.equal(await store.enroll(user('u1'), template('photo-a'), 'add'), 'ENROLLED');
        const first = await store.getUser('u1');
        assert.ok(first);
        const renamed = { ...user('u1', 'g2'), name: 'Renamed', metadata: { role: 'admin' } };
        assert.equal(await store.enroll(renamed, template('photo-b'), 'add'), 'UPDATED');
        const second = await store.getUser('u1');
        assert.ok(second);
        assert.equal(second.name, 'Renamed');
        assert.equal(second.group, 'g2');
        assert.deepEqual(second.metadata, { role: 'admin' });
        assert.equal(second.enrolled_at, first.enrolled_at);
        assert.ok(second.updated_at >= first.updated_at);
        assert.deepEqual(second.templates.map((t) => t.photo_sha256).sort(), ['photo-a', 'photo-b']);
      });

      void it('keeps one template when the same photo is enrolled twice', async () => {
        assert.equal(await store.enroll(user('u1'), template('photo-a'), 'add'), 'ENROLLED');
        assert.equal(await store.enroll(user('u1'), template('photo-a'), 'add'), 'UPDATED');
        assert.equal((await store.getUser('u1'))?.templates.length, 1);
        assert.equal((await store.gallery()).length, 1);
      });

      void it('replace mode leaves only the new template', async () => {
        await store.enroll(user('u1'), template('photo-a'), 'add');
        await store.enroll(user('u1'), template('photo-b'), 'add');
        assert.equal(await store.enroll(user('u1'), template('photo-c'), 'replace'), 'UPDATED');
        const templates = (await store.getUser('u1'))?.templates ?? [];
        assert.deepEqual(
          templates.map((t) => t.photo_sha256),
          ['photo-c'],
        );
        // Replacing with a photo that is already a template also leaves exactly one.
        await store.enroll(user('u1'), template('photo-d'), 'add');
        await store.enroll(user('u1'), template('photo-c'), 'replace');
        assert.deepEqual(
          (await store.getUser('u1'))?.templates.map((t) => t.photo_sha256),
          ['photo-c'],
        );
        // Another user's templates are untouched.
        await store.enroll(user('u2'), template('photo-a'), 'add');
        await store.enroll(user('u1'), template('photo-e'), 'replace');
        assert.equal((await store.getUser('u2'))?.templates.length, 1);
      });

      void it('keeps embeddings bit-exactly (gallery returns identical Float32Array values)', async () => {
        const special = [0, -0, 1.4e-45, -1.17e-38, 3.4028234e38, -3.4028234e38, Infinity, NaN, 0.1, 1 / 3];
        const values = Float32Array.from(
          { length: 512 },
          (_, i) => special[i] ?? Math.sin(i * 12.9898) * 0.07,
        );
        // A view at an offset into a larger buffer, as a pipeline output slice would be.
        const backing = new Float32Array(520);
        backing.set(values, 3);
        const view = backing.subarray(3, 515);
        await store.enroll(user('u1'), template('photo-a', view), 'add');
        await store.enroll(user('u2'), template('photo-b', values), 'add');
        const gallery = await store.gallery();
        assert.equal(gallery.length, 2);
        for (const entry of gallery) {
          assert.ok(entry.embedding instanceof Float32Array);
          assert.equal(entry.embedding.length, 512);
          assert.deepEqual(bytes(entry.embedding), bytes(values), `embedding of ${entry.user_id}`);
        }
      });

      void it('gallery holds every template, or one group, with its user', async () => {
        await store.enroll(user('a1', 'g1'), template('p1', embedding(1)), 'add');
        await store.enroll(user('a1', 'g1'), template('p2', embedding(2)), 'add');
        await store.enroll(user('b1', 'g2'), template('p3', embedding(3)), 'add');
        await store.enroll(user('c1', null), template('p4', embedding(4)), 'add');
        const all = await store.gallery();
        assert.deepEqual(all.map((e) => e.user_id).sort(), ['a1', 'a1', 'b1', 'c1']);
        const g1 = await store.gallery('g1');
        assert.equal(g1.length, 2);
        const templateIds = ((await store.getUser('a1'))?.templates ?? []).map((t) => t.template_id).sort();
        assert.deepEqual(g1.map((e) => e.template_id).sort(), templateIds);
        for (const e of g1) {
          assert.deepEqual(Object.keys(e).sort(), ['embedding', 'group', 'name', 'template_id', 'user_id']);
          assert.equal(e.user_id, 'a1');
          assert.equal(e.name, 'Name a1');
          assert.equal(e.group, 'g1');
        }
        const c1 = all.find((e) => e.user_id === 'c1');
        assert.equal(c1?.group, null);
        assert.deepEqual(c1 && bytes(c1.embedding), bytes(embedding(4)));
        assert.deepEqual(await store.gallery('nobody'), []);
      });

      void it('listUsers pages by user_id with an opaque cursor, and filters by group', async () => {
        for (const id of ['u3', 'u5', 'u1', 'u4', 'u2']) {
          await store.enroll(
            user(id, id === 'u2' || id === 'u4' || id === 'u5' ? 'even' : 'odd'),
            template(id),
            'add',
          );
        }
        const seen: string[][] = [];
        let cursor: string | undefined;
        for (let pages = 0; pages < 10; pages++) {
          const page = await store.listUsers({ limit: 2, ...(cursor ? { cursor } : {}) });
          seen.push(page.items.map((u) => u.user_id));
          for (const u of page.items) assert.equal(u.templates.length, 1);
          if (page.next_cursor === null) break;
          assert.equal(typeof page.next_cursor, 'string');
          cursor = page.next_cursor;
        }
        assert.deepEqual(seen, [['u1', 'u2'], ['u3', 'u4'], ['u5']]);

        // A page that ends exactly at the last user has no next page.
        assert.equal((await store.listUsers({ limit: 5 })).next_cursor, null);
        const one = await store.listUsers({ limit: 4 });
        assert.equal(one.items.length, 4);
        assert.notEqual(one.next_cursor, null);

        const even = await store.listUsers({ group: 'even', limit: 2 });
        assert.deepEqual(
          even.items.map((u) => u.user_id),
          ['u2', 'u4'],
        );
        assert.ok(even.next_cursor);
        const evenRest = await store.listUsers({ group: 'even', limit: 2, cursor: even.next_cursor });
        const u5 = await store.getUser('u5');
        assert.ok(u5);
        assert.deepEqual(evenRest, { items: [u5], next_cursor: null });
        assert.deepEqual(await store.listUsers({ group: 'none', limit: 2 }), {
          items: [],
          next_cursor: null,
        });
      });

      void it('getUser returns the user with template summaries and no embeddings', async () => {
        const input: UserInput = {
          user_id: 'u1',
          name: 'Ada',
          group: 'staff',
          metadata: { n: 1, tags: ['x'] },
        };
        await store.enroll(input, template('photo-a'), 'add');
        await store.enroll(input, template('photo-b'), 'add');
        const got = await store.getUser('u1');
        assert.ok(got);
        assert.deepEqual(Object.keys(got).sort(), [
          'enrolled_at',
          'group',
          'metadata',
          'name',
          'templates',
          'updated_at',
          'user_id',
        ]);
        assert.deepEqual(
          { user_id: got.user_id, name: got.name, group: got.group, metadata: got.metadata },
          input,
        );
        assert.ok(!Number.isNaN(Date.parse(got.enrolled_at)));
        assert.equal(got.templates.length, 2);
        for (const t of got.templates) {
          assert.deepEqual(Object.keys(t).sort(), [
            'created_at',
            'detection_score',
            'model',
            'photo_sha256',
            'quality',
            'template_id',
          ]);
          assert.equal(t.model, 'arcface-test');
          assert.equal(t.detection_score, 0.97);
          assert.deepEqual(t.quality, { face_size: 180, sharpness: 42.5 });
          assert.equal(typeof t.template_id, 'string');
        }
        assert.notEqual(got.templates[0]?.template_id, got.templates[1]?.template_id);
        assert.equal(await store.getUser('nobody'), undefined);
      });

      void it('deleteUser erases user and templates, leaves a tombstone, and is undefined the second time', async () => {
        await store.enroll(user('u1'), template('photo-a'), 'add');
        await store.enroll(user('u1'), template('photo-b'), 'add');
        await store.enroll(user('u2'), template('photo-a'), 'add');
        assert.equal(await store.erasedAt('u1'), undefined);

        const receipt = await store.deleteUser('u1');
        assert.ok(receipt);
        assert.deepEqual(Object.keys(receipt).sort(), ['erased_at', 'templates_erased', 'user_id']);
        assert.equal(receipt.user_id, 'u1');
        assert.equal(receipt.templates_erased, 2);
        assert.ok(!Number.isNaN(Date.parse(receipt.erased_at)));

        assert.equal(await store.getUser('u1'), undefined);
        assert.equal(await store.erasedAt('u1'), receipt.erased_at);
        assert.deepEqual(
          (await store.gallery()).map((e) => e.user_id),
          ['u2'],
        );
        assert.deepEqual(
          (await store.listUsers({ limit: 10 })).items.map((u) => u.user_id),
          ['u2'],
        );
        assert.equal(await store.deleteUser('u1'), undefined);
        assert.ok(await store.erasedAt('u1'));
        assert.equal((await store.getUser('u2'))?.templates.length, 1);

        // Enrolling again after erasure is a new enrollment (callers decide whether to allow it).
        assert.equal(await store.enroll(user('u1'), template('photo-c'), 'add'), 'ENROLLED');
        assert.equal((await store.getUser('u1'))?.templates.length, 1);
      });
    });

    void describe('jobs and item results', () => {
      void it('creates, gets and updates a job', async () => {
        const j = job('job-1');
        await store.createJob(j);
        assert.deepEqual(await store.getJob('job-1'), j);
        assert.equal(await store.getJob('nope'), undefined);

        await store.updateJob('job-1', { status: 'active', started_at: '2026-01-01T00:00:01.000Z' });
        assert.deepEqual(await store.getJob('job-1'), {
          ...j,
          status: 'active',
          started_at: '2026-01-01T00:00:01.000Z',
        });
        await store.updateJob('job-1', {});
        await store.updateJob('job-1', { status: 'completed', finished_at: '2026-01-01T00:00:09.000Z' });
        assert.deepEqual(await store.getJob('job-1'), {
          ...j,
          status: 'completed',
          started_at: '2026-01-01T00:00:01.000Z',
          finished_at: '2026-01-01T00:00:09.000Z',
        });
      });

      void it('putItemResult upserts by (job_id, index): a retry overwrites, never duplicates', async () => {
        await store.createJob(job('job-1'));
        await store.putItemResult(item('job-1', 0, false, 'NO_FACE_DETECTED'));
        const retried = {
          ...item('job-1', 0, true, 'ENROLLED'),
          detail: { template_id: 't-1', nested: { a: [1, 2] } },
        };
        await store.putItemResult(retried);
        assert.deepEqual(await store.countItemResults('job-1'), { done: 1, failed: 0 });
        assert.deepEqual(await store.listItemResults('job-1', { limit: 10 }), {
          items: [retried],
          next_cursor: null,
        });
      });

      void it('listItemResults pages in index order, per job', async () => {
        for (const i of [10, 2, 0, 7, 1, 3, 11])
          await store.putItemResult(item('job-1', i, true, 'EMBEDDED'));
        await store.putItemResult(item('job-2', 5, true, 'EMBEDDED'));
        const seen: number[][] = [];
        let cursor: string | undefined;
        for (let pages = 0; pages < 10; pages++) {
          const page = await store.listItemResults('job-1', { limit: 3, ...(cursor ? { cursor } : {}) });
          seen.push(page.items.map((r) => r.index));
          for (const r of page.items) assert.equal(r.job_id, 'job-1');
          if (page.next_cursor === null) break;
          cursor = page.next_cursor;
        }
        assert.deepEqual(seen, [[0, 1, 2], [3, 7, 10], [11]]);
        assert.equal((await store.listItemResults('job-1', { limit: 7 })).next_cursor, null);
        assert.deepEqual(await store.listItemResults('job-3', { limit: 3 }), {
          items: [],
          next_cursor: null,
        });
      });

      void it('countItemResults counts done and failed', async () => {
        assert.deepEqual(await store.countItemResults('job-1'), { done: 0, failed: 0 });
        for (let i = 0; i < 5; i++) await store.putItemResult(item('job-1', i, i % 2 === 0, 'X'));
        await store.putItemResult(item('job-2', 0, false, 'X'));
        assert.deepEqual(await store.countItemResults('job-1'), { done: 5, failed: 2 });
      });
    });

    void describe('idempotency keys', () => {
      void it('exactly one of 20 concurrent claims of a key wins', async () => {
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => store.claimIdempotencyKey('key-1', `sha-${i}`)),
        );
        assert.equal(results.filter((r) => r.claimed).length, 1);
        const winner = results.findIndex((r) => r.claimed);
        for (const r of results) {
          if (r.claimed) continue;
          assert.equal(r.record.key, 'key-1');
          assert.equal(r.record.body_sha256, `sha-${winner}`);
          assert.equal(r.record.response, null);
          assert.ok(!Number.isNaN(Date.parse(r.record.created_at)));
        }
      });

      void it('a claim after setIdempotencyResponse returns the record with the response', async () => {
        assert.deepEqual(await store.claimIdempotencyKey('key-1', 'sha-a'), { claimed: true });
        const response = { status: 202, body: { job_id: 'job-1', links: ['x'], n: null } };
        await store.setIdempotencyResponse('key-1', response);
        const again = await store.claimIdempotencyKey('key-1', 'sha-b');
        assert.equal(again.claimed, false);
        assert.ok(!again.claimed);
        assert.deepEqual(Object.keys(again.record).sort(), ['body_sha256', 'created_at', 'key', 'response']);
        assert.equal(again.record.body_sha256, 'sha-a');
        assert.deepEqual(again.record.response, response);
        // A key with a response is kept: releasing it is for requests that failed before creating anything.
        await store.releaseIdempotencyKey('key-1');
        assert.equal((await store.claimIdempotencyKey('key-1', 'sha-a')).claimed, false);
        assert.deepEqual(await store.claimIdempotencyKey('key-2', 'sha-a'), { claimed: true });
      });

      void it('releaseIdempotencyKey lets a new claim succeed', async () => {
        assert.equal((await store.claimIdempotencyKey('key-1', 'sha-a')).claimed, true);
        assert.equal((await store.claimIdempotencyKey('key-1', 'sha-a')).claimed, false);
        await store.releaseIdempotencyKey('key-1');
        assert.equal((await store.claimIdempotencyKey('key-1', 'sha-b')).claimed, true);
        const record = await store.claimIdempotencyKey('key-1', 'sha-c');
        assert.ok(!record.claimed && record.record.body_sha256 === 'sha-b');
        await store.releaseIdempotencyKey('never-claimed');
      });
    });

    void describe('webhook deliveries', () => {
      void it('lists a job’s deliveries ordered by time, then attempt', async () => {
        const d2 = delivery('d-1', 2, '2026-01-01T00:00:05.000Z', false);
        const d1 = delivery('d-1', 1, '2026-01-01T00:00:00.000Z', false);
        const d3 = delivery('d-1', 3, '2026-01-01T00:00:35.000Z', true);
        const sameTime = delivery('d-2', 1, '2026-01-01T00:00:05.000Z', true);
        await store.addWebhookDelivery(d3);
        await store.addWebhookDelivery(d2);
        await store.addWebhookDelivery(sameTime);
        await store.addWebhookDelivery(d1);
        await store.addWebhookDelivery({
          ...delivery('d-9', 1, '2026-01-01T00:00:01.000Z', true),
          job_id: 'job-2',
        });
        assert.deepEqual(await store.listWebhookDeliveries('job-1'), [d1, sameTime, d2, d3]);
        assert.deepEqual(await store.listWebhookDeliveries('job-3'), []);
      });

      void it('re-adding a (delivery_id, attempt) replaces it', async () => {
        await store.addWebhookDelivery(delivery('d-1', 1, '2026-01-01T00:00:00.000Z', false));
        const done = {
          ...delivery('d-1', 1, '2026-01-01T00:00:00.000Z', true),
          status_code: 204,
          error: null,
        };
        await store.addWebhookDelivery(done);
        assert.deepEqual(await store.listWebhookDeliveries('job-1'), [done]);
      });
    });

    void describe('blobs', () => {
      void it('put, get, overwrite and delete', async () => {
        const a = Uint8Array.from([0, 1, 2, 255, 254]);
        await blobs.put('job-1/item-0', a);
        assert.deepEqual(await blobs.get('job-1/item-0'), Buffer.from(a));
        const big = Buffer.alloc(600_000, 7); // several GridFS chunks
        big[599_999] = 9;
        await blobs.put('job-1/item-0', big);
        assert.deepEqual(await blobs.get('job-1/item-0'), big);
        await blobs.put('job-1/item-1', new Uint8Array(0));
        assert.deepEqual(await blobs.get('job-1/item-1'), Buffer.alloc(0));

        await blobs.delete('job-1/item-0');
        assert.equal(await blobs.get('job-1/item-0'), undefined);
        await blobs.delete('job-1/item-0');
        assert.equal(await blobs.get('job-9/item-0'), undefined);
        assert.deepEqual(await blobs.get('job-1/item-1'), Buffer.alloc(0));
      });

      void it('deletePrefix deletes a job’s blobs and says how many', async () => {
        for (const k of ['job-1/a-0', 'job-1/b-0', 'job-1/c-1', 'job-10/a-0', 'job-2/a-0']) {
          await blobs.put(k, Buffer.from(k));
        }
        assert.equal(await blobs.deletePrefix('job-1'), 3);
        assert.equal(await blobs.get('job-1/a-0'), undefined);
        assert.equal(await blobs.get('job-1/c-1'), undefined);
        assert.deepEqual(await blobs.get('job-10/a-0'), Buffer.from('job-10/a-0'));
        assert.deepEqual(await blobs.get('job-2/a-0'), Buffer.from('job-2/a-0'));
        assert.equal(await blobs.deletePrefix('job-1'), 0);
        assert.equal(await blobs.deletePrefix('job-404'), 0);
      });
    });
  });
}

function user(id: string, group: string | null = 'g1'): UserInput {
  return { user_id: id, name: `Name ${id}`, group, metadata: { source: 'test' } };
}

/** Deterministic, distinct per seed. */
function embedding(seed: number): Float32Array {
  return Float32Array.from({ length: 512 }, (_, i) => Math.sin((i + 1) * seed * 0.731) / 22.6);
}

function template(photo: string, emb: Float32Array = embedding(1)): TemplateInput {
  return {
    model: 'arcface-test',
    embedding: emb,
    detection_score: 0.97,
    quality: { face_size: 180, sharpness: 42.5 },
    photo_sha256: photo,
  };
}

function bytes(v: Float32Array): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

function job(id: string): BatchJob {
  return {
    job_id: id,
    type: 'enrollment',
    total: 3,
    status: 'queued',
    created_at: '2026-01-01T00:00:00.000Z',
    started_at: null,
    finished_at: null,
    webhook_url: 'https://example.com/hook',
    webhook_secret: 'whsec_dGVzdA==',
  };
}

function item(jobId: string, index: number, ok: boolean, outcome: string): ItemResult {
  return {
    job_id: jobId,
    index,
    ref: index % 3 === 0 ? null : `ref-${index}`,
    outcome,
    ok,
    detail: ok ? { index } : { error: { code: outcome } },
    finished_at: `2026-01-01T00:00:${String(10 + index).padStart(2, '0')}.000Z`,
  };
}

function delivery(id: string, attempt: number, at: string, delivered: boolean): WebhookDelivery {
  return {
    delivery_id: id,
    job_id: 'job-1',
    event: 'batch.completed',
    url: 'https://example.com/hook',
    attempt,
    status_code: delivered ? 200 : 503,
    error: delivered ? null : 'HTTP 503',
    delivered,
    at,
  };
}
