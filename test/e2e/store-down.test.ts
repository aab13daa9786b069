/**
 * A MongoDB that goes away under a running API: calls that need the store answer 503
 * SERVICE_UNAVAILABLE within MONGODB_TIMEOUT_MS (not the driver's 30 s of silence), /health says
 * the store is unreachable and answers 503 within its own second. Runs in npm test's MongoDB
 * run, on a FerretDB of its own (the one MONGODB_URL names is never stopped).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startPrivateFerretdb, type PrivateMongo } from '../helpers/private-ferretdb.js';
import { json, startService, type TestService } from '../helpers/service.js';

const TIMEOUT_MS = 1500;
const onMongoRun = Boolean(process.env.MONGODB_URL);

describe(
  'MongoDB down under a running API',
  { skip: !onMongoRun && 'runs in the MongoDB run of npm test' },
  () => {
    let mongo: PrivateMongo | undefined;
    let svc: TestService;
    let skipped = '';

    before(async () => {
      const started = await startPrivateFerretdb();
      if ('skipped' in started) {
        skipped = started.skipped;
        return;
      }
      mongo = started;
      const url = new URL(mongo.url);
      url.pathname = '/store_down';
      svc = await startService({
        worker: false,
        env: { MONGODB_URL: url.toString(), MONGODB_TIMEOUT_MS: String(TIMEOUT_MS) },
      });
    });
    after(async () => {
      if (svc) await svc.stop({ dropDatabase: false });
      await mongo?.stop();
    });

    it('reports the store on /health while it is up', async (t) => {
      if (skipped) return t.skip(skipped);
      const res = await svc.app.request('/api/v1/health');
      const body = await json<{ store: unknown }>(res);
      assert.deepEqual(body.store, { backend: 'mongodb', reachable: true });
    });

    it('answers 503 SERVICE_UNAVAILABLE within the timeout once the server is gone, and /health 503', async (t) => {
      if (skipped || !mongo) return t.skip(skipped);
      await mongo.stop();
      for (const path of ['/api/v1/users/someone', '/api/v1/users?limit=5', '/api/v1/jobs/job_0123']) {
        const started = performance.now();
        const res = await svc.app.request(path);
        const ms = performance.now() - started;
        assert.equal(res.status, 503, `${path}: ${await res.clone().text()}`);
        const body = await json<{ error_code: string }>(res);
        assert.equal(body.error_code, 'SERVICE_UNAVAILABLE');
        // The driver's default would hold this 30 s; the bound is the configured timeout (plus
        // slack for a loaded machine), not a benchmark.
        assert.ok(ms < TIMEOUT_MS + 5000, `${path} took ${Math.round(ms)} ms`);
      }
      const started = performance.now();
      const health = await svc.app.request('/api/v1/health');
      assert.equal(health.status, 503);
      const body = await json<{ status: string; store: unknown }>(health);
      assert.equal(body.status, 'down');
      assert.deepEqual(body.store, { backend: 'mongodb', reachable: false });
      assert.ok(performance.now() - started < 5000);
    });
  },
);

describe('MONGODB_URL', () => {
  it('refuses, at start-up, a URL that names no database (the driver would use `test`)', async () => {
    for (const url of [
      'mongodb://127.0.0.1:27017',
      'mongodb://127.0.0.1:27017/',
      'mongodb://a:1,b:2/?replicaSet=r',
    ]) {
      await assert.rejects(
        startService({ worker: false, env: { MONGODB_URL: url } }),
        /MONGODB_URL.*must name the database/s,
        url,
      );
    }
    await assert.rejects(startService({ worker: false, env: { MONGODB_URL: 'http://x/db' } }), /MONGODB_URL/);
  });
});
