/**
 * The only worker process dies (SIGKILL: no graceful close, its heartbeat key lingers until its
 * TTL). Sync calls must learn it in seconds — 503 SERVICE_UNAVAILABLE — instead of waiting for
 * SYNC_TIMEOUT_MS (30 s) to get a 504, and their photos must not stay queued for a worker that
 * would later process them for nobody. Before the fix: 504 after 30 s, the job left queued.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { workerSetKey } from '../../src/shared/worker-heartbeat.js';
import { modelsDir, photo } from '../helpers/faces.js';
import {
  expectError,
  json,
  postJson,
  REDIS_URL,
  startService,
  waitFor,
  type TestService,
} from '../helpers/service.js';

const WORKER_MAIN = fileURLToPath(new URL('../../src/worker/main.js', import.meta.url));
const image = photo('Aaron_Peirsol', 1).toString('base64');
/** "In a few seconds": the fix answers ~4 s after the kill (4.04-4.08 s); slack for a loaded machine. */
const DETECT_MS = 12_000;

describe('after the only worker process is killed (SIGKILL)', () => {
  let svc: TestService;
  const children: ChildProcess[] = [];

  function spawnWorker(): ChildProcess {
    const child = spawn(process.execPath, [WORKER_MAIN], {
      env: {
        PATH: process.env.PATH ?? '',
        KEY_PREFIX: svc.config.keyPrefix,
        DATA_DIR: svc.config.dataDir,
        REDIS_URL,
        MODELS_DIR: modelsDir,
        POOL_SIZE: '1',
        WORKER_METRICS_PORT: '0',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(child);
    return child;
  }
  const beats = () => svc.redis.zcard(workerSetKey(svc.config));

  before(async () => {
    svc = await startService({ worker: false });
  });
  after(async () => {
    for (const c of children) {
      if (c.exitCode === null && c.signalCode === null) {
        const gone = new Promise((r) => c.once('exit', r));
        c.kill('SIGKILL');
        await gone;
      }
    }
    await svc?.stop();
  });

  it('answers /embed with 200 while the worker runs', async () => {
    spawnWorker();
    await waitFor(async () => (await beats()) > 0, 'the worker heartbeat', 60_000);
    const res = await postJson(svc.app, '/api/v1/embed', { image });
    assert.equal(res.status, 200, await res.text());
  });

  it('answers 503 within seconds of the kill, not 504 after 30 s, and removes the queued jobs', async (t) => {
    const child = children[0] as ChildProcess;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await gone;
    const started = Date.now();
    const calls = await Promise.all(
      Array.from({ length: 3 }, async () => {
        const res = await postJson(svc.app, '/api/v1/embed', { image });
        return { ms: Date.now() - started, body: await expectError(res, 503, 'SERVICE_UNAVAILABLE') };
      }),
    );
    t.diagnostic(`503 after ${calls.map((c) => c.ms).join(', ')} ms`);
    for (const { ms } of calls) assert.ok(ms < DETECT_MS, `answered after ${ms} ms`);
    // Removed right after the answer (one Redis call, issued once the add has settled).
    const jobKeys = calls.map(({ body }) => `${svc.config.keyPrefix}:inference:${String(body.job_id)}`);
    await waitFor(
      async () => (await svc.redis.exists(...jobKeys)) === 0,
      'the abandoned jobs to be removed',
      5000,
    );
    // Sync jobs have no priority (alone on their queue): they wait in the plain list.
    const queued = await svc.redis.llen(`${svc.config.keyPrefix}:inference:wait`);
    assert.equal(queued, 0, 'sync jobs left for a later worker');
  });

  it('then answers 503 at once, without queueing', async () => {
    const started = Date.now();
    const body = await expectError(
      await postJson(svc.app, '/api/v1/embed', { image }),
      503,
      'SERVICE_UNAVAILABLE',
    );
    assert.ok(Date.now() - started < 1000, `${Date.now() - started} ms`);
    assert.equal(body.job_id, undefined);
  });

  it('answers 200 again once a new worker announces itself', async () => {
    spawnWorker();
    await waitFor(
      async () => (await postJson(svc.app, '/api/v1/embed', { image })).status === 200,
      '/embed to answer 200',
      60_000,
    );
  });

  it('/health stops listing a killed worker within seconds, not when its 15 s heartbeat TTL ends', async (t) => {
    const alive = async () =>
      (await json<{ workers: { alive: number } }>(await svc.app.request('/api/v1/health'))).workers.alive;
    const second = spawnWorker();
    await waitFor(async () => (await alive()) === 2, 'two workers on /health', 60_000);
    const gone = new Promise((r) => second.once('exit', r));
    second.kill('SIGKILL');
    await gone;
    const started = Date.now();
    await waitFor(async () => (await alive()) === 1, 'one worker on /health', 15_000);
    const ms = Date.now() - started;
    t.diagnostic(`off /health ${ms} ms after the kill`);
    assert.ok(ms < DETECT_MS - 2000, `listed for ${ms} ms after the kill`);
  });
});
