/**
 * What callers get when the service cannot do the work: no worker, Redis unreachable, a job
 * slower than SYNC_TIMEOUT_MS. The answer must come at once (503) or at the deadline (504),
 * never after a client-side timeout.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { JobGateway } from '../../src/api/job-gateway.js';
import { COMMAND_TIMEOUT_MS } from '../../src/shared/redis-connections.js';
import { photo } from '../helpers/faces.js';
import {
  expectError,
  freePort,
  json,
  postJson,
  startRedisForwarder,
  startService,
  trackRedisClients,
  waitFor,
  type TestService,
} from '../helpers/service.js';

const image = () => photo('Aaron_Peirsol', 1).toString('base64');
const compareBody = { query_embedding: [1, 0], reference_embeddings: [{ id: 'a', embedding: [0.6, 0.8] }] };

async function timed(res: Response | Promise<Response>): Promise<[Response, number]> {
  const started = Date.now();
  const r = await res;
  return [r, Date.now() - started];
}

describe('with no worker running', () => {
  let svc: TestService;
  before(async () => {
    svc = await startService({ worker: false });
  });
  after(async () => {
    await svc?.stop();
  });

  it('answers /embed with 503 SERVICE_UNAVAILABLE at once and queues nothing', async () => {
    const [res, ms] = await timed(postJson(svc.app, '/api/v1/embed', { image: image() }));
    await expectError(res, 503, 'SERVICE_UNAVAILABLE');
    assert.ok(ms < 500, `${ms} ms`);
    assert.deepEqual(
      (await svc.keys()).filter((k) => /:inference:(\d+|wait|prioritized)$/.test(k)),
      [],
    );
  });

  it('still answers /compare, which needs no worker', async () => {
    assert.equal((await postJson(svc.app, '/api/v1/compare', compareBody)).status, 200);
  });
});

describe('with Redis unreachable', () => {
  let svc: TestService;
  let port: number;
  let forwarder: { close(): Promise<void> } | undefined;
  let strayClose: Promise<unknown> | undefined;
  let strayLeftovers: (() => Promise<number>) | undefined;

  before(async () => {
    port = await freePort();
    svc = await startService({ worker: false, env: { REDIS_URL: `redis://127.0.0.1:${port}` } });
  });
  after(async () => {
    // Let Redis "come back" so the gateways can finish closing (see the todo test below).
    forwarder ??= await startRedisForwarder(port);
    await Promise.race([strayClose?.catch(() => undefined), new Promise((r) => setTimeout(r, 5000).unref())]);
    await strayLeftovers?.();
    await svc?.stop();
    await forwarder.close();
  });

  it("answers /health with 503 'down' in under 2 s", async () => {
    const [res, ms] = await timed(svc.app.request('/api/v1/health'));
    assert.equal(res.status, 503);
    const body = await json<{ status: string; redis: { reachable: boolean }; workers: { alive: number } }>(
      res,
    );
    assert.equal(body.status, 'down');
    assert.equal(body.redis.reachable, false);
    assert.equal(body.workers.alive, 0);
    assert.ok(ms < 2000, `${ms} ms`);
  });

  it('answers /embed with 503 SERVICE_UNAVAILABLE at once, not after a timeout', async () => {
    for (let i = 0; i < 3; i++) {
      const [res, ms] = await timed(postJson(svc.app, '/api/v1/embed', { image: image() }));
      await expectError(res, 503, 'SERVICE_UNAVAILABLE');
      assert.ok(ms < 1000, `${ms} ms`);
    }
  });

  it('still answers /compare and /models, which need no Redis', async () => {
    assert.equal((await postJson(svc.app, '/api/v1/compare', compareBody)).status, 200);
    assert.equal((await svc.app.request('/api/v1/models')).status, 200);
  });

  it('lets a gateway close while Redis is unreachable', async () => {
    const [gateway, leftovers] = await trackRedisClients(() => Promise.resolve(new JobGateway(svc.config)));
    strayLeftovers = leftovers;
    strayClose = gateway.close();
    const outcome = await Promise.race([
      strayClose.then(() => 'closed'),
      new Promise((r) => setTimeout(() => r('still closing after 1.5 s'), 1500).unref()),
    ]);
    assert.equal(outcome, 'closed');
  });

  it("recovers to 'degraded' (no worker) once Redis is reachable again", async () => {
    forwarder = await startRedisForwarder(port);
    await waitFor(
      async () => (await svc.app.request('/api/v1/health')).status === 200,
      'health to recover',
      10_000,
    );
    const body = await json<{ status: string }>(await svc.app.request('/api/v1/health'));
    assert.equal(body.status, 'degraded');
    const [res, ms] = await timed(postJson(svc.app, '/api/v1/embed', { image: image() }));
    await expectError(res, 503, 'SERVICE_UNAVAILABLE');
    assert.ok(ms < 1000);
  });
});

describe('with a worker slower than SYNC_TIMEOUT_MS', () => {
  let svc: TestService;
  before(async () => {
    svc = await startService();
  });
  after(async () => {
    await svc?.stop();
  });

  it('answers 504 TIMEOUT with the job id when the result is not there in time (1 ms)', async () => {
    const app = svc.appWith({ SYNC_TIMEOUT_MS: '1' });
    for (let i = 0; i < 3; i++) {
      const [res, ms] = await timed(postJson(app, '/api/v1/embed', { image: image() }));
      const body = await expectError(res, 504, 'TIMEOUT');
      assert.equal(typeof body.job_id, 'string');
      assert.ok(ms < 1000, `${ms} ms`);
    }
  });

  it('keeps no photo of a timed-out job in Redis: removed if not taken, blanked once finished', async () => {
    const app = svc.appWith({ SYNC_TIMEOUT_MS: '1' });
    const sent = image();
    const body = await expectError(await postJson(app, '/api/v1/embed', { image: sent }), 504, 'TIMEOUT');
    const key = `${svc.config.keyPrefix}:inference:${String(body.job_id)}`;
    // The 504 can leave before the add itself has landed (it answers by its deadline whatever
    // Redis does), so "no key yet" is not "removed": by COMMAND_TIMEOUT_MS the add has landed or
    // failed (the full run once saw the key appear, photo and all, after the check had passed).
    await new Promise((r) => setTimeout(r, COMMAND_TIMEOUT_MS + 200));
    await waitFor(
      async () => (await svc.redis.exists(key)) === 0 || (await svc.redis.hget(key, 'finishedOn')) !== null,
      'the job to be removed or finished',
    );
    if ((await svc.redis.exists(key)) === 1) {
      const data = JSON.parse((await svc.redis.hget(key, 'data')) ?? '{}') as { image?: string };
      assert.equal(data.image, '');
      assert.ok(!JSON.stringify(await svc.redis.hgetall(key)).includes(sent.slice(1000, 1100)));
    }
  });

  it('answers 503 SERVICE_UNAVAILABLE at once after the only worker stops', async () => {
    assert.equal((await postJson(svc.app, '/api/v1/embed', { image: image() })).status, 200);
    await svc.stopWorker();
    await new Promise((r) => setTimeout(r, 1100)); // the gateway reuses "workers alive" for 1 s
    const [res, ms] = await timed(postJson(svc.app, '/api/v1/embed', { image: image() }));
    await expectError(res, 503, 'SERVICE_UNAVAILABLE');
    assert.ok(ms < 500, `${ms} ms`);
  });
});

describe('shutting down', () => {
  it('releases every Redis connection when the worker service and the gateway close', async () => {
    const svc = await startService();
    assert.equal((await postJson(svc.app, '/api/v1/embed', { image: image() })).status, 200);
    assert.equal(await svc.stop(), 0, 'Redis connections left open');
  });
});
