/**
 * The API's routes over an in-memory JobQueue: no Redis, no worker, no models loaded (only the
 * manifest and calibration files are read). Batches are checked where their payloads are made:
 * the queue parses every job with the registry's schema as it is queued, so a route that
 * shapes one wrongly fails here. The store and blob store are the real SQLite ones. The
 * end-to-end suites (test/e2e) still run the same routes against BullMQ and a worker.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Hono } from 'hono';
import { Registry } from 'prom-client';
import { createApp } from '../../src/api/app.js';
import type { ApiDeps } from '../../src/api/deps.js';
import type { RemovedItem } from '../../src/api/erasure-scan.js';
import { loadConfig, type Config } from '../../src/shared/config.js';
import { ServiceError } from '../../src/shared/errors.js';
import { InMemoryJobQueue, type SyncHandlers } from '../../src/shared/jobs/in-memory-queue.js';
import type { EmbedJobResult } from '../../src/shared/jobs/index.js';
import { createLogger } from '../../src/shared/logger.js';
import { loadManifest, loadOpenSet } from '../../src/shared/model-manifest.js';
import { openPersistence, type Persistence } from '../../src/shared/store/index.js';
import { b64, item } from '../helpers/batches.js';
import { modelsDir, photo } from '../helpers/faces.js';
import { expectError, json, postJson } from '../helpers/service.js';

const MAX_ITEMS = 3;
const jpeg = photo('Aaron_Peirsol', 1);

let dataDir: string;
let config: Config;
let persistence: Persistence;
const galleryChanges: string[] = [];

/** An app over `queue` (and plain objects for the rest of the Redis side); `over` changes settings. */
function appOver(queue: InMemoryJobQueue, over: Partial<Config> = {}): Hono {
  const manifest = loadManifest(config.modelsDir);
  const deps: ApiDeps = {
    config: { ...config, ...over },
    logger: createLogger('silent', 'test'),
    jobs: queue,
    queues: {
      ping: () => Promise.resolve(true),
      queueDepths: () => Promise.resolve({}),
      dashboardQueues: () => [],
    },
    workers: { announcements: () => Promise.resolve([]) },
    erasure: {
      // What ErasureScan does on BullMQ: the user's queued enrollment items leave the queue; a
      // job that holds other people too stays, and the user's items in it are returned.
      removeQueuedEnrollments(userId: string): Promise<RemovedItem[]> {
        const removed: RemovedItem[] = [];
        const jobs = [
          ...queue.named('enroll-item').map((job) => ({ job, people: [job.data] })),
          ...queue.named('enroll-items').map((job) => ({ job, people: job.data.people })),
        ];
        for (const { job, people } of jobs) {
          const mine = people.filter((p) => p.user_id === userId);
          if (mine.length === 0) continue;
          if (mine.length === people.length) queue.jobs.splice(queue.jobs.indexOf(job), 1);
          for (const p of mine) removed.push({ job_id: p.job_id, index: p.index, photos: p.photos });
        }
        return Promise.resolve(removed);
      },
      enrollmentInFlight: () => Promise.resolve(false),
    },
    gallery: {
      changed(userId: string) {
        galleryChanges.push(userId);
        return Promise.resolve();
      },
    },
    manifest,
    openSet: loadOpenSet(config.modelsDir, manifest),
    registry: new Registry(),
    store: persistence.store,
    blobs: persistence.blobs,
    startedAt: Date.now(),
  };
  return createApp(deps);
}

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'shelia-routes-memory-'));
  config = loadConfig({
    DATA_DIR: dataDir,
    MODELS_DIR: modelsDir,
    // Nothing listens there: a route that reached for Redis would fail, not pass by luck.
    REDIS_URL: 'redis://127.0.0.1:9',
    LOG_LEVEL: 'silent',
    QUEUE_DASHBOARD: 'off',
    MAX_BATCH_ITEMS: String(MAX_ITEMS),
  });
  persistence = await openPersistence(config);
});
after(async () => {
  await persistence?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

interface Accepted {
  job_id: string;
  status_url: string;
  items: number;
}

describe('POST /api/v1/enrollments on an in-memory queue', () => {
  it('answers 202 and queues one flow: a parent and one typed child per item with a usable photo', async () => {
    const queue = new InMemoryJobQueue();
    const app = appOver(queue, { enrollPeoplePerJob: 1 });
    const res = await postJson(app, '/api/v1/enrollments', {
      items: [
        item('Mem_One', jpeg),
        item('Mem_Bad', 'not base64!'),
        { user_id: 'Mem_Two', name: 'Mem Two', images: [b64(jpeg), '%%% not base64'] },
      ],
    });
    assert.equal(res.status, 202, await res.clone().text());
    const body = await json<Accepted>(res);
    assert.match(body.job_id, /^job_[0-9a-f]{32}$/);
    assert.deepEqual(body, { job_id: body.job_id, status_url: `/api/v1/jobs/${body.job_id}`, items: 3 });

    const [parent] = queue.named('enroll-batch');
    assert.deepEqual(parent, {
      name: 'enroll-batch',
      queue: 'batch',
      jobId: body.job_id,
      data: { job_id: body.job_id },
    });
    const children = queue.named('enroll-item');
    assert.deepEqual(
      children.map((c) => [c.jobId, c.queue, c.parentId, c.data.index, c.data.user_id, c.data.photos]),
      [
        [`${body.job_id}-0`, 'items', body.job_id, 0, 'Mem_One', [`${body.job_id}/0-0`]],
        [`${body.job_id}-2`, 'items', body.job_id, 2, 'Mem_Two', [`${body.job_id}/2-0`]],
      ],
    );
    // The person's unusable second photo travels as its outcome, by position.
    assert.deepEqual(
      children[1]?.data.refused_photos?.map((r) => [r.index, r.error_code]),
      [[1, 'INVALID_IMAGE']],
    );
    assert.equal(children[0]?.data.mode, 'add');
    // Photos are in the blob store, not in the payloads.
    assert.deepEqual(await persistence.blobs.get(`${body.job_id}/0-0`), jpeg);

    // The item without a usable photo has its outcome at once; the batch is queued.
    const status = await json<{ status: string; progress: { total: number } }>(
      await app.request(`/api/v1/jobs/${body.job_id}`),
    );
    assert.equal(status.status, 'queued');
    assert.equal(status.progress.total, 3);
    const results = await json<{ items: { index: number; outcome: string; ok: boolean }[] }>(
      await app.request(`/api/v1/jobs/${body.job_id}/results`),
    );
    assert.deepEqual(
      results.items.map((r) => [r.index, r.outcome, r.ok]),
      [[1, 'INVALID_IMAGE', false]],
    );
  });

  it('packs ENROLL_PEOPLE_PER_JOB consecutive people with usable photos a job, named by the first one’s index', async () => {
    const queue = new InMemoryJobQueue();
    const app = appOver(queue, { enrollPeoplePerJob: 2 });
    const res = await postJson(app, '/api/v1/enrollments', {
      items: [item('Mem_A', jpeg), item('Mem_Bad', 'not base64!'), item('Mem_B', jpeg)],
    });
    const body = await json<Accepted>(res);
    assert.equal(queue.named('enroll-item').length, 0);
    assert.deepEqual(
      queue
        .named('enroll-items')
        .map((c) => [c.jobId, c.parentId, c.data.job_id, c.data.people.map((p) => [p.index, p.user_id])]),
      [
        [
          `${body.job_id}-0`,
          body.job_id,
          body.job_id,
          [
            [0, 'Mem_A'],
            [2, 'Mem_B'],
          ],
        ],
      ],
    );
    const again = await postJson(app, '/api/v1/enrollments', {
      items: [item('Mem_C', jpeg), item('Mem_D', jpeg), item('Mem_E', jpeg)],
    });
    const second = await json<Accepted>(again);
    assert.deepEqual(
      queue
        .named('enroll-items')
        .filter((c) => c.parentId === second.job_id)
        .map((c) => [c.jobId, c.data.people.map((p) => p.user_id)]),
      [
        [`${second.job_id}-0`, ['Mem_C', 'Mem_D']],
        [`${second.job_id}-2`, ['Mem_E']],
      ],
    );
  });

  it('refuses more than MAX_BATCH_ITEMS (413), an empty batch (400) and an unsigned webhook (400), queueing nothing', async () => {
    const queue = new InMemoryJobQueue();
    const app = appOver(queue);
    const four = Array.from({ length: MAX_ITEMS + 1 }, (_, i) => item(`Mem_${i}`, jpeg));
    await expectError(await postJson(app, '/api/v1/enrollments', { items: four }), 413, 'BATCH_TOO_LARGE');
    await expectError(await postJson(app, '/api/v1/enrollments', { items: [] }), 400, 'INVALID_REQUEST');
    const unsigned = await expectError(
      await postJson(app, '/api/v1/enrollments', {
        items: [item('Mem_Hook', jpeg)],
        webhook_url: 'https://93.184.215.14/hook',
      }),
      400,
      'WEBHOOK_SECRET_REQUIRED',
    );
    assert.equal(unsigned.field, 'webhook_secret');
    assert.deepEqual(queue.jobs, []);
  });

  it('a queue that fails the add answers 503, marks the batch failed and deletes its photos', async () => {
    const queue = new InMemoryJobQueue();
    const app = appOver(queue);
    const blobs = join(dataDir, 'blobs');
    const batchFolders = () => new Set(existsSync(blobs) ? readdirSync(blobs) : []);
    const before = batchFolders();
    queue.failNext = new ServiceError('SERVICE_UNAVAILABLE', 'Redis is not reachable; try again shortly');
    await expectError(
      await postJson(app, '/api/v1/enrollments', { items: [item('Mem_Fail', jpeg)] }),
      503,
      'SERVICE_UNAVAILABLE',
    );
    assert.deepEqual(queue.jobs, []);
    // Its photo was written before the add, and deleted with its folder when the add failed.
    assert.deepEqual(batchFolders(), before);
  });

  it('DELETE /users/:id removes the queued item of the user, records it ERASED and tells the galleries', async () => {
    const queue = new InMemoryJobQueue();
    const app = appOver(queue);
    const { job_id } = await json<Accepted>(
      await postJson(app, '/api/v1/enrollments', {
        items: [item('Mem_Erased', jpeg), item('Mem_Kept', jpeg)],
      }),
    );
    const res = await app.request('/api/v1/users/Mem_Erased', { method: 'DELETE' });
    assert.equal(res.status, 200, await res.clone().text());
    const receipt = await json<{ queued_items_removed: number; photos_erased: number }>(res);
    assert.equal(receipt.queued_items_removed, 1);
    assert.equal(receipt.photos_erased, 1);
    // The job holds Mem_Kept too: it stays, and Mem_Erased's item in it is ERASED already.
    assert.deepEqual(
      queue.named('enroll-items').map((c) => c.data.people.map((p) => p.user_id)),
      [['Mem_Erased', 'Mem_Kept']],
    );
    assert.equal(await persistence.blobs.get(`${job_id}/0-0`), undefined);
    const results = await json<{ items: { index: number; outcome: string }[] }>(
      await app.request(`/api/v1/jobs/${job_id}/results`),
    );
    assert.deepEqual(
      results.items.map((r) => [r.index, r.outcome]),
      [[0, 'ERASED']],
    );
    assert.ok(galleryChanges.includes('Mem_Erased'));
  });
});

describe('POST /api/v1/jobs/embed and /attendance on an in-memory queue', () => {
  it('an Idempotency-Key replays the first 202 and queues the batch once; another body is 422', async () => {
    const queue = new InMemoryJobQueue();
    const app = appOver(queue);
    const body = { items: [{ id: 'p-1', image: b64(jpeg) }], face: 'center' };
    const key = { 'idempotency-key': 'mem-embed-1' };
    const first = await postJson(app, '/api/v1/jobs/embed', body, key);
    assert.equal(first.status, 202, await first.clone().text());
    const again = await postJson(app, '/api/v1/jobs/embed', body, key);
    assert.equal(again.status, 202);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    const { job_id } = await json<Accepted>(first);
    assert.equal((await json<Accepted>(again)).job_id, job_id);
    assert.equal(queue.named('embed-batch').length, 1);
    assert.deepEqual(
      queue.named('embed-item').map((c) => c.data),
      [{ job_id, index: 0, ref: 'p-1', photo: `${job_id}/0-0`, face: 'center' }],
    );
    await expectError(
      await postJson(app, '/api/v1/jobs/embed', { ...body, face: 'largest' }, key),
      422,
      'IDEMPOTENCY_KEY_REUSED',
    );
  });

  it('attendance frames become typed frame jobs with their capture times in UTC', async () => {
    const queue = new InMemoryJobQueue();
    const app = appOver(queue);
    const res = await postJson(app, '/api/v1/attendance', {
      camera_id: 'gate-mem',
      group: 'site-mem',
      frames: [
        { image: b64(jpeg), captured_at: '2026-03-02T09:01:12+01:00' },
        { image: b64(jpeg), captured_at: '2026-03-02T08:01:14Z' },
      ],
    });
    assert.equal(res.status, 202, await res.clone().text());
    const { job_id } = await json<Accepted>(res);
    const frames = queue.named('attendance-frame');
    assert.deepEqual(
      frames.map((f) => [f.data.index, f.data.camera_id, f.data.group, f.data.threshold, f.data.photo]),
      [
        [0, 'gate-mem', 'site-mem', null, `${job_id}/0-0`],
        [1, 'gate-mem', 'site-mem', null, `${job_id}/1-0`],
      ],
    );
    assert.deepEqual(
      frames.map((f) => Date.parse(f.data.captured_at)),
      [Date.parse('2026-03-02T08:01:12Z'), Date.parse('2026-03-02T08:01:14Z')],
    );
    assert.equal(frames[0]?.data.window_ms, config.attendanceWindowMs);
    assert.equal(queue.named('attendance-batch')[0]?.jobId, job_id);
  });
});

describe('POST /api/v1/embed on an in-memory queue', () => {
  const answer: EmbedJobResult = {
    embedding: [0.6, 0.8],
    detection_score: 0.99,
    bbox: { x: 1, y: 2, width: 30, height: 40 },
    landmarks: [],
    faces_detected: 1,
    model: 'test-model',
    quality: { face_size: 40, sharpness: 100 },
    processing_ms: 1,
  };

  it('carries the photo as the base64 it came in (no data-URL prefix, no line breaks) and answers the result', async () => {
    const seen: string[] = [];
    const handlers: SyncHandlers = {
      embed: (data) => {
        seen.push(data.image);
        return answer;
      },
    };
    const app = appOver(new InMemoryJobQueue(handlers));
    const text = b64(jpeg);
    const wrapped = `data:image/jpeg;base64,${text.replace(/(.{76})/g, '$1\n')}`;
    const res = await postJson(app, '/api/v1/embed', { image: wrapped });
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(await json(res), answer);
    assert.deepEqual(seen, [text]);
  });

  it('a refusal from the job is its error; no photo check passes a bad one on; no worker is 503', async () => {
    const refuse: SyncHandlers = {
      embed: () => {
        throw new ServiceError('NO_FACE_DETECTED', 'no face was detected in the image', {
          faces_detected: 0,
        });
      },
    };
    await expectError(
      await postJson(appOver(new InMemoryJobQueue(refuse)), '/api/v1/embed', { image: b64(jpeg) }),
      422,
      'NO_FACE_DETECTED',
    );
    const queue = new InMemoryJobQueue(refuse);
    await expectError(
      await postJson(appOver(queue), '/api/v1/embed', { image: b64(Buffer.from('GIF89a not a photo')) }),
      400,
      'INVALID_IMAGE',
    );
    await expectError(
      await postJson(appOver(new InMemoryJobQueue()), '/api/v1/embed', { image: b64(jpeg) }),
      503,
      'SERVICE_UNAVAILABLE',
    );
  });
});
