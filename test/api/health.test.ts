import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadManifest } from '../../src/shared/model-manifest.js';
import { json, startService, type TestService } from '../helpers/service.js';

interface Health {
  status: 'ok' | 'degraded' | 'down';
  version: string;
  uptime_s: number;
  redis: { reachable: boolean };
  workers: {
    alive: number;
    details: { id: string; pool_size: number; models: Record<string, { sha256: string }> }[];
  };
  queues: Record<string, Record<string, number>>;
  models: { embedding_model: string; files: Record<string, { file: string; sha256: string }> };
}

let withWorker: TestService;
let noWorker: TestService;

before(async () => {
  withWorker = await startService();
  noWorker = await startService({ worker: false });
});
after(async () => {
  await withWorker?.stop();
  await noWorker?.stop();
});

async function health(svc: TestService): Promise<{ status: number; body: Health; ms: number }> {
  const started = Date.now();
  const res = await svc.app.request('/api/v1/health');
  return { status: res.status, body: await json<Health>(res), ms: Date.now() - started };
}

describe('GET /api/v1/health', () => {
  it('answers 200 ok with a live worker, the models it loaded, queues, Redis, version and uptime', async () => {
    const { status, body } = await health(withWorker);
    assert.equal(status, 200);
    assert.equal(body.status, 'ok');
    assert.equal(body.redis.reachable, true);
    assert.ok(body.workers.alive >= 1);
    assert.equal(body.workers.details.length, body.workers.alive);
    assert.equal(body.version, withWorker.config.version);
    assert.ok(Number.isInteger(body.uptime_s) && body.uptime_s >= 0);

    const manifest = loadManifest(withWorker.config.modelsDir);
    assert.equal(body.models.embedding_model, manifest.embedding_model_id);
    for (const [name, entry] of Object.entries(manifest.models)) {
      assert.deepEqual(body.models.files[name], { file: entry.file, sha256: entry.sha256 });
      assert.match(body.models.files[name]?.sha256 ?? '', /^[0-9a-f]{64}$/);
    }
    const worker = body.workers.details[0];
    assert.ok(worker);
    assert.equal(worker.pool_size, withWorker.config.poolSize);
    assert.equal(worker.models.feature?.sha256, manifest.models.feature.sha256);

    assert.ok(body.queues.inference, `queues: ${Object.keys(body.queues).join(', ')}`);
    for (const counts of Object.values(body.queues)) {
      for (const n of Object.values(counts)) assert.ok(Number.isInteger(n) && n >= 0);
    }
  });

  it('shows empty queue depths after a refused upload: it never reached the queue', async () => {
    const res = await withWorker.app.request('/api/v1/embed', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ image: 'not base64 at all!' }),
    });
    assert.equal(res.status, 400);
    const { body } = await health(withWorker);
    const inference = body.queues.inference ?? {};
    assert.equal(
      Object.values(inference).reduce((a, b) => a + b, 0),
      0,
      JSON.stringify(inference),
    );
  });

  it('answers 200 degraded with no worker alive, Redis reachable', async () => {
    const { status, body, ms } = await health(noWorker);
    assert.equal(status, 200);
    assert.equal(body.status, 'degraded');
    assert.equal(body.redis.reachable, true);
    assert.equal(body.workers.alive, 0);
    assert.deepEqual(body.workers.details, []);
    assert.ok(ms < 1000, `${ms} ms`);
  });

  it('does not count the worker of another deployment (another KEY_PREFIX) on the same Redis', async () => {
    // withWorker's worker runs on this Redis, under its own prefix.
    assert.notEqual(noWorker.config.keyPrefix, withWorker.config.keyPrefix);
    assert.equal((await health(noWorker)).body.workers.alive, 0);
  });

  it('answers 200 degraded once the only worker has stopped', async () => {
    const svc = await startService();
    try {
      assert.equal((await health(svc)).body.status, 'ok');
      await svc.stopWorker();
      const { status, body } = await health(svc);
      assert.equal(status, 200);
      assert.equal(body.status, 'degraded');
      assert.equal(body.workers.alive, 0);
    } finally {
      await svc.stop();
    }
  });
});
