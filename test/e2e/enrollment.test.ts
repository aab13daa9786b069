/**
 * Bulk enrollment end to end: real Redis, SQLite, models and LFW photos, through the HTTP app.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startWorkerService, type WorkerService } from '../../src/worker/service.js';
import {
  enroll,
  enrollAndWait,
  fragment,
  item,
  sha,
  getUser,
  greyJpeg,
  lfw,
  listUsers,
  notAnImage,
  outcomeOf,
  redisText,
  results,
  status,
  tinyFace,
  twoFaces,
  untilFinished,
  firstIdentities,
  type Accepted,
  type ItemResultBody,
} from '../helpers/batches.js';
import {
  expectError,
  json,
  logger,
  postJson,
  startService,
  trackRedisClients,
  waitFor,
  type TestService,
} from '../helpers/service.js';
import { withStoreMethods } from '../helpers/store-faults.js';

const del = (svc: TestService, id: string) => svc.app.request(`/api/v1/users/${id}`, { method: 'DELETE' });
const blobDir = (svc: TestService, jobId: string) => join(svc.config.dataDir, 'blobs', jobId);
/** Which of a batch's first-photo blobs (`<index>-0`) are stored, through the blob store itself. */
async function storedPhotos(svc: TestService, jobId: string, items: number): Promise<string[]> {
  const keys = Array.from({ length: items }, (_, i) => `${i}-0`);
  const present = await Promise.all(
    keys.map(async (k) => (await svc.blobs.get(`${jobId}/${k}`)) !== undefined),
  );
  return keys.filter((_, i) => present[i]);
}
/** The parent deletes a batch's photos just after writing its final status. */
const photosGone = (svc: TestService, jobId: string) =>
  waitFor(() => Promise.resolve(!existsSync(blobDir(svc, jobId))), `photos of ${jobId} deleted`, 5000);
const runBatch = async (svc: TestService, body: unknown) => (await enrollAndWait(svc.app, body)).items;

describe('enrollment with DUPLICATE_POLICY=reject', () => {
  let svc: TestService;
  before(async () => {
    svc = await startService({ env: { POOL_SIZE: '2', DUPLICATE_POLICY: 'reject' } });
  });
  after(() => svc?.stop());

  const people = firstIdentities(100);
  let accepted: Accepted;
  let seen: Awaited<ReturnType<typeof untilFinished>>;

  it('accepts 100 people in one JSON batch with 202, job_id, status_url and the item count', async () => {
    accepted = await enroll(svc.app, { items: people.map((p) => item(p.name, lfw(p.name), 'lfw')) });
    assert.deepEqual([accepted.items, 'webhook_secret' in accepted], [100, false]);
    seen = await untilFinished(svc.app, accepted.job_id);
  });

  it('reports queued/active with growing progress, then completed_with_errors with 100 done, 3 failed', () => {
    const rank = { queued: 0, active: 1, completed: 2, completed_with_errors: 2, failed: 2 };
    assert.ok(rank[seen[0]?.status ?? 'failed'] < 2, 'the first poll already saw the end');
    for (const [i, s] of seen.entries()) {
      const prev = seen[i - 1];
      assert.equal(s.progress.total, 100);
      if (prev) {
        assert.ok(rank[s.status] >= rank[prev.status], `${prev.status} -> ${s.status}`);
        assert.ok(s.progress.done >= prev.progress.done && s.progress.failed >= prev.progress.failed);
      }
    }
    assert.ok(seen.some((s) => s.status === 'active' && s.progress.done > 0 && s.progress.done < 100));
    const last = seen[seen.length - 1];
    assert.equal(last?.status, 'completed_with_errors');
    assert.deepEqual(last?.progress, { total: 100, done: 100, failed: 3 });
    assert.ok(last.started_at && last.finished_at, 'started_at and finished_at are set');
    assert.ok(last.created_at <= last.started_at && last.started_at <= last.finished_at);
  });

  it('pages results by cursor and gives each item its measured outcome with a reason code', async () => {
    const { items, pages } = await results(svc.app, accepted.job_id, 30);
    assert.equal(pages, 4);
    assert.equal(items.length, 100);
    assert.ok(
      items.every((r, i) => r.index === i),
      'results are in index order, each once',
    );
    for (const [i, p] of people.entries()) {
      const r = items[i] as ItemResultBody;
      assert.equal(r.ref, p.name);
      assert.equal(outcomeOf(r), p.expected, `${p.name}: ${JSON.stringify(r)}`);
      assert.equal(r.ok, p.expected === 'ENROLLED');
      if (r.ok) assert.equal(r.templates, 1);
      else assert.ok(Number(r.faces_detected) >= 2, `${p.name} ${JSON.stringify(r)}`);
    }
  });

  it('stores the enrolled people, one template each, listed by group in pages', async () => {
    const { name, group, templates } = await getUser(svc.app, 'Aaron_Peirsol');
    assert.deepEqual([name, group], ['Aaron Peirsol', 'lfw']);
    assert.equal(templates.length, 1);
    assert.equal(templates[0]?.photo_sha256, sha(lfw('Aaron_Peirsol')));
    const { users, pages } = await listUsers(svc.app, 25, 'lfw');
    const enrolled = people.filter((p) => p.expected === 'ENROLLED').map((p) => p.name);
    assert.equal(pages, 4);
    assert.deepEqual(
      users.map((u) => u.user_id),
      [...enrolled].sort(),
    );
    assert.ok(users.every((u) => u.templates.length === 1));
    assert.deepEqual((await listUsers(svc.app, 10, 'nobody')).users, []);
  });

  it('deletes the batch photos once it completes and never puts photo bytes in Redis', async () => {
    await photosGone(svc, accepted.job_id);
    const redis = await redisText(svc.redis, await svc.keys());
    for (const p of people)
      assert.ok(!redis.includes(fragment(lfw(p.name))), `${p.name}'s photo is in Redis`);
  });

  it('gives INVALID_IMAGE, INVALID_IMAGE, NO_FACE_DETECTED, MULTIPLE_FACES, LOW_QUALITY (gate) to bad photos', async () => {
    const { final, items } = await enrollAndWait(svc.app, {
      items: [
        item('bad-text', notAnImage),
        item('bad-base64', 'this is *not* base64!'),
        item('bad-grey', await greyJpeg()),
        item('bad-two', await twoFaces()),
        item('bad-tiny', await tinyFace()),
      ],
    });
    assert.deepEqual(
      items.map((r) => [r.ref, r.outcome, r.ok]),
      [
        ['bad-text', 'INVALID_IMAGE', false],
        ['bad-base64', 'INVALID_IMAGE', false],
        ['bad-grey', 'NO_FACE_DETECTED', false],
        ['bad-two', 'MULTIPLE_FACES', false],
        ['bad-tiny', 'LOW_QUALITY', false],
      ],
    );
    assert.equal(final.status, 'failed');
    assert.equal(items[1]?.field, 'items.1.image');
    assert.equal(items[2]?.faces_detected, 0);
    assert.equal(items[3]?.faces_detected, 2);
    const tiny = items[4] as ItemResultBody;
    assert.equal(tiny.gate, 'face_too_small');
    assert.ok(Number(tiny.value) > 20 && Number(tiny.value) < 45 && tiny.min === 60, JSON.stringify(tiny));
    for (const r of items)
      await expectError(await svc.app.request(`/api/v1/users/${r.ref}`), 404, 'USER_NOT_FOUND');
    // Results filtered by outcome: only those items, still in index order.
    const res = await svc.app.request(`/api/v1/jobs/${final.job_id}/results?outcome=INVALID_IMAGE`);
    assert.equal(res.status, 200);
    const page = await json<{ items: ItemResultBody[] }>(res);
    assert.deepEqual(
      page.items.map((r) => [r.index, r.ref]),
      [
        [0, 'bad-text'],
        [1, 'bad-base64'],
      ],
    );
    await expectError(
      await svc.app.request(`/api/v1/jobs/${final.job_id}/results?outcome=not-a-code`),
      400,
      'INVALID_REQUEST',
    );
  });

  it('re-enrolling a person gives UPDATED and a second template; mode replace leaves one', async () => {
    const [added] = await runBatch(svc, { items: [item('Ahmed_Chalabi', lfw('Ahmed_Chalabi', 2), 'lfw')] });
    assert.equal(added?.outcome, 'UPDATED');
    const shas = async () => (await getUser(svc.app, 'Ahmed_Chalabi')).templates.map((t) => t.photo_sha256);
    assert.deepEqual((await shas()).sort(), [1, 2].map((n) => sha(lfw('Ahmed_Chalabi', n))).sort());
    const replace = {
      items: [item('Ahmed_Chalabi', lfw('Ahmed_Chalabi', 3), 'lfw')],
      options: { mode: 'replace' },
    };
    assert.equal((await runBatch(svc, replace))[0]?.outcome, 'UPDATED');
    assert.deepEqual(await shas(), [sha(lfw('Ahmed_Chalabi', 3))]);
  });

  it('rejects another photo of an enrolled person under a new user_id as DUPLICATE_PERSON', async () => {
    const [r] = await runBatch(svc, { items: [item('greenspan-2', lfw('Alan_Greenspan', 2))] });
    assert.equal(r?.outcome, 'DUPLICATE_PERSON', JSON.stringify(r));
    assert.equal(r.matched_user_id, 'Alan_Greenspan');
    assert.ok(Number(r.distance) <= 0.59);
    await expectError(await svc.app.request('/api/v1/users/greenspan-2'), 404, 'USER_NOT_FOUND');
  });

  it('takes a multipart CSV manifest with files and gives the same outcomes', async () => {
    const parts: [string, string, Buffer | undefined][] = [
      ['mp-george', 'george-1.jpg', lfw('George_Robertson', 1)],
      ['mp-george', 'george-2.jpg', lfw('George_Robertson', 2)],
      ['mp-grey', 'grey.jpg', await greyJpeg()],
      ['mp-two', 'two.jpg', await twoFaces()],
      ['mp-tiny', 'tiny.jpg', await tinyFace()],
      ['mp-text', 'notes.jpg', notAnImage],
      ['mp-missing', 'missing.jpg', undefined],
    ];
    const form = new FormData();
    form.append(
      'manifest',
      ['user_id,name,file', ...parts.map(([u, f]) => `${u},Person ${u},${f}`)].join('\n'),
    );
    for (const [, f, bytes] of parts) if (bytes) form.append('files', new Blob([new Uint8Array(bytes)]), f);
    const res = await svc.app.request('/api/v1/enrollments', { method: 'POST', body: form });
    assert.equal(res.status, 202, await res.clone().text());
    const { job_id, items: count } = await json<Accepted>(res);
    assert.equal(count, 6);
    assert.equal((await untilFinished(svc.app, job_id)).at(-1)?.status, 'completed_with_errors');
    const { items } = await results(svc.app, job_id);
    assert.deepEqual(
      items.map((r) => [r.ref, outcomeOf(r)]),
      [
        ['mp-george', 'ENROLLED'],
        ['mp-grey', 'NO_FACE_DETECTED'],
        ['mp-two', 'MULTIPLE_FACES'],
        ['mp-tiny', 'LOW_QUALITY:face_too_small'],
        ['mp-text', 'INVALID_IMAGE'],
        ['mp-missing', 'INVALID_IMAGE'],
      ],
    );
    assert.equal(items[0]?.templates, 2);
    assert.equal((await getUser(svc.app, 'mp-george')).templates.length, 2);
    await photosGone(svc, job_id);
  });

  it('erases a user with a receipt, after which the user is 404 USER_NOT_FOUND', async () => {
    const res = await del(svc, 'Ahmed_Chalabi');
    assert.equal(res.status, 200);
    const { erased_at, ...receipt } = await json(res);
    assert.ok(Date.now() - Date.parse(String(erased_at)) < 60_000, `erased_at ${String(erased_at)}`);
    const expected = {
      templates_erased: 1,
      attendance_records_kept: 0,
      queued_items_removed: 0,
      photos_erased: 0,
    };
    assert.deepEqual(receipt, { user_id: 'Ahmed_Chalabi', ...expected });
    await expectError(await svc.app.request('/api/v1/users/Ahmed_Chalabi'), 404, 'USER_NOT_FOUND');
    await expectError(await del(svc, 'Ahmed_Chalabi'), 404, 'USER_NOT_FOUND');
    // An id nothing holds and nothing is enrolling: 404, and no tombstone is left for it.
    await expectError(await del(svc, 'Never_Enrolled_Anyone'), 404, 'USER_NOT_FOUND');
    assert.equal(await svc.store.erasedAt('Never_Enrolled_Anyone'), undefined);
    assert.equal((await listUsers(svc.app, 1000, 'lfw')).users.length, 96);
  });

  it('answers 404 JOB_NOT_FOUND for an unknown job and 413 BATCH_TOO_LARGE over MAX_BATCH_ITEMS', async () => {
    for (const path of ['', '/results', '/webhook-deliveries']) {
      await expectError(await svc.app.request(`/api/v1/jobs/job_nope${path}`), 404, 'JOB_NOT_FOUND');
    }
    const small = svc.appWith({ MAX_BATCH_ITEMS: '2' });
    const body = { items: ['a', 'b', 'c'].map((id) => item(id, lfw('Aaron_Peirsol'))) };
    const err = await expectError(await postJson(small, '/api/v1/enrollments', body), 413, 'BATCH_TOO_LARGE');
    assert.equal(err.max_items, 2);
  });
});

describe('a batch accepted while no worker runs (DUPLICATE_POLICY=warn)', () => {
  let svc: TestService;
  let worker: WorkerService | undefined;
  let closeLeftovers: (() => unknown) | undefined;
  let jobId: string;
  const names = ['Abdullah_Gul', 'Ai_Sugiyama', 'Al_Sharpton'];
  before(async () => {
    svc = await startService({ worker: false, env: { DUPLICATE_POLICY: 'warn' } });
  });
  after(async () => {
    await worker?.close(5000);
    await closeLeftovers?.();
    await svc?.stop();
  });

  it('stays queued with its photos in the blob store (DATA_DIR/blobs/<job_id> or GridFS) and only blob keys in Redis', async () => {
    jobId = (await enroll(svc.app, { items: names.map((n) => item(n, lfw(n))) })).job_id;
    assert.equal((await status(svc.app, jobId)).status, 'queued');
    assert.deepEqual(await storedPhotos(svc, jobId, 3), ['0-0', '1-0', '2-0']);
    // One queue job holds the three people (ENROLL_PEOPLE_PER_JOB 8), named by the first's index.
    const child = await svc.redis.hget(`${svc.config.keyPrefix}:items:${jobId}-0`, 'data');
    const people = (JSON.parse(child ?? '{}') as { people?: { photos: string[] }[] }).people;
    assert.deepEqual(people?.[1]?.photos, [`${jobId}/1-0`]);
    const redis = await redisText(svc.redis, await svc.keys());
    for (const n of names) assert.ok(!redis.includes(fragment(lfw(n))), `${n}'s photo is in Redis`);
  });

  it('erasing a user whose item is queued removes the item and its photo, recorded as ERASED', async () => {
    const res = await del(svc, 'Ai_Sugiyama');
    assert.equal(res.status, 200);
    const { erased_at, ...receipt } = await json(res);
    assert.equal(typeof erased_at, 'string');
    const expected = {
      templates_erased: 0,
      attendance_records_kept: 0,
      queued_items_removed: 1,
      photos_erased: 1,
    };
    assert.deepEqual(receipt, { user_id: 'Ai_Sugiyama', ...expected });
    assert.deepEqual(await storedPhotos(svc, jobId, 3), ['0-0', '2-0']);
    const { items } = await results(svc.app, jobId);
    assert.deepEqual(
      items.map((r) => [r.index, r.ref, r.outcome, r.ok]),
      [[1, 'Ai_Sugiyama', 'ERASED', false]],
    );
  });

  it('a worker started later enrolls the rest and never the erased user', async () => {
    [worker, closeLeftovers] = await trackRedisClients(() => startWorkerService(svc.config, logger));
    assert.equal((await untilFinished(svc.app, jobId)).at(-1)?.status, 'completed_with_errors');
    const { items } = await results(svc.app, jobId);
    assert.deepEqual(
      items.map((r) => r.outcome),
      ['ENROLLED', 'ERASED', 'ENROLLED'],
    );
    await expectError(await svc.app.request('/api/v1/users/Ai_Sugiyama'), 404, 'USER_NOT_FOUND');
    await photosGone(svc, jobId);
  });

  it('with DUPLICATE_POLICY=warn enrolls a known face under a new user_id with a warning', async () => {
    const [r] = await runBatch(svc, { items: [item('gul-2', lfw('Abdullah_Gul', 2))] });
    assert.equal(r?.outcome, 'ENROLLED', JSON.stringify(r));
    const warnings = r.warnings as string[];
    assert.equal(warnings.length, 1);
    assert.match(
      warnings[0] ?? '',
      /^DUPLICATE_PERSON: matches Abdullah_Gul at distance 0\.\d+ \(threshold 0\.\d+\)$/,
    );
    assert.equal((r.duplicates as { matched_user_id: string }[])[0]?.matched_user_id, 'Abdullah_Gul');
    assert.equal((await getUser(svc.app, 'gul-2')).templates.length, 1);
  });
});

describe('a person erased from a shared queued job just after its worker checked for an erasure', () => {
  let svc: TestService;
  let worker: WorkerService | undefined;
  let closeLeftovers: (() => unknown) | undefined;
  /** The race, made certain: the worker's first erasure check of Ai_Sugiyama comes before the erasure. */
  let missedOnce = false;
  const wrapPersistence = withStoreMethods({
    erasedAt: (real) => (userId) => {
      if (userId !== 'Ai_Sugiyama' || missedOnce) return real(userId);
      missedOnce = true;
      return Promise.resolve(undefined);
    },
  });
  before(async () => {
    svc = await startService({ worker: false, env: { DUPLICATE_POLICY: 'warn' } });
  });
  after(async () => {
    await worker?.close(5000);
    await closeLeftovers?.();
    await svc?.stop();
  });

  it('ends ERASED, not INVALID_IMAGE for its deleted photo', async () => {
    const names = ['Abdullah_Gul', 'Ai_Sugiyama'];
    const { job_id } = await enroll(svc.app, { items: names.map((n) => item(n, lfw(n))) });
    assert.equal((await del(svc, 'Ai_Sugiyama')).status, 200);
    [worker, closeLeftovers] = await trackRedisClients(() =>
      startWorkerService(svc.config, logger, undefined, { wrapPersistence }),
    );
    await untilFinished(svc.app, job_id);
    assert.ok(missedOnce);
    const { items } = await results(svc.app, job_id);
    assert.deepEqual(
      items.map((r) => [r.ref, r.outcome]),
      [
        ['Abdullah_Gul', 'ENROLLED'],
        ['Ai_Sugiyama', 'ERASED'],
      ],
    );
    await expectError(await svc.app.request('/api/v1/users/Ai_Sugiyama'), 404, 'USER_NOT_FOUND');
  });
});
