/**
 * A frozen Redis (SIGSTOP: its sockets stay open, nothing answers — what a stuck host or a
 * network partition looks like) must not hang the sync calls: /embed answers 503 or 504 within
 * SYNC_TIMEOUT_MS of its arrival, /health within a second, and the service recovers when Redis
 * does. Before the fix, 45 s frozen held 8/8 /embed calls for 42-45 s (then 200). The Redis here
 * is the test's own redis-server on a free loopback port; the shared one is never frozen.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { startApiServer, type ApiServer } from '../../src/api/server.js';
import { loadConfig, type Config } from '../../src/shared/config.js';
import { workerSetKey } from '../../src/shared/worker-heartbeat.js';
import { startWorkerService, type WorkerService } from '../../src/worker/service.js';
import { modelsDir, photo } from '../helpers/faces.js';
import { startPrivateRedis, type PrivateRedis } from '../helpers/private-redis.js';
import { freshPrefix, logger, waitFor } from '../helpers/service.js';

const SYNC_TIMEOUT_MS = 3000;
/** Over the deadline: the answer may come at the deadline, on a machine shared with other tests. */
const SLACK_MS = 2500;
const FREEZE_MS = 9000;
const body = JSON.stringify({ image: photo('Aaron_Peirsol', 1).toString('base64') });

interface Answer {
  status: number;
  code: string | undefined;
  ms: number;
}

describe('with Redis frozen (SIGSTOP) for longer than SYNC_TIMEOUT_MS', () => {
  let redis: PrivateRedis;
  let inspect: Redis;
  let config: Config;
  let worker: WorkerService | undefined;
  let api: ApiServer | undefined;
  const dataDir = mkdtempSync(join(tmpdir(), 'shelia-freeze-'));
  const url = (path: string) => `http://127.0.0.1:${api?.port ?? 0}${path}`;

  async function call(path: string, init: RequestInit = {}): Promise<Answer> {
    const started = Date.now();
    const res = await fetch(url(path), { ...init, signal: AbortSignal.timeout(60_000) });
    const text = await res.text();
    const parsed = JSON.parse(text) as { error_code?: string };
    return { status: res.status, code: parsed.error_code, ms: Date.now() - started };
  }
  const embed = () =>
    call('/api/v1/embed', { method: 'POST', headers: { 'content-type': 'application/json' }, body });

  before(async () => {
    redis = await startPrivateRedis();
    inspect = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    config = loadConfig({
      REDIS_URL: redis.url,
      KEY_PREFIX: freshPrefix('freeze'),
      DATA_DIR: dataDir,
      MODELS_DIR: modelsDir,
      LOG_LEVEL: 'silent',
      POOL_SIZE: '1',
      PORT: '0',
      SYNC_TIMEOUT_MS: String(SYNC_TIMEOUT_MS),
      WORKER_METRICS_PORT: '0',
    });
    worker = await startWorkerService(config, logger);
    await waitFor(async () => (await inspect.zcard(workerSetKey(config))) > 0, 'worker heartbeat');
    api = await startApiServer(config, logger);
  });
  after(async () => {
    redis?.thaw();
    await api?.close();
    await worker?.close(5000);
    inspect?.disconnect();
    await redis?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers /embed with 200 before the freeze', async () => {
    const first = await embed();
    assert.equal(first.status, 200, JSON.stringify(first));
  });

  it('answers every /embed with 503 or 504 within the deadline, and /health at once', async (t) => {
    // Calls in flight as Redis freezes (some may still get their 200), arriving just after, and
    // arriving in the middle of the freeze.
    const inFlight = Array.from({ length: 4 }, () => embed());
    await new Promise((r) => setTimeout(r, 30));
    redis.freeze();
    const frozenAt = Date.now();
    let answers: Answer[];
    let healths: Answer[];
    let caught: Answer[];
    try {
      const early = Array.from({ length: 4 }, () => embed());
      const health = [call('/api/v1/health')];
      await new Promise((r) => setTimeout(r, SYNC_TIMEOUT_MS + 1000));
      const late = Array.from({ length: 4 }, () => embed());
      health.push(call('/api/v1/health'));
      // Hold the freeze well past every deadline before letting Redis answer again.
      await new Promise((r) => setTimeout(r, FREEZE_MS - (Date.now() - frozenAt)));
      redis.thaw();
      [caught, answers, healths] = await Promise.all([
        Promise.all(inFlight),
        Promise.all([...early, ...late]),
        Promise.all(health),
      ]);
    } finally {
      redis.thaw();
    }
    const summary = JSON.stringify({ caught, answers, healths });
    t.diagnostic(summary);
    for (const a of answers) {
      assert.ok(
        (a.status === 503 && a.code === 'SERVICE_UNAVAILABLE') || (a.status === 504 && a.code === 'TIMEOUT'),
        summary,
      );
      assert.ok(a.ms < SYNC_TIMEOUT_MS + SLACK_MS, `an /embed took ${a.ms} ms: ${summary}`);
    }
    for (const a of caught) {
      assert.ok([200, 503, 504].includes(a.status), summary);
      assert.ok(a.ms < SYNC_TIMEOUT_MS + SLACK_MS, `an /embed in flight took ${a.ms} ms: ${summary}`);
    }
    for (const h of healths) {
      assert.equal(h.status, 503, summary);
      assert.ok(h.ms < 1500, `/health took ${h.ms} ms: ${summary}`);
    }
  });

  it('recovers once Redis answers again, and no abandoned job is left queued', async () => {
    await waitFor(async () => (await embed()).status === 200, '/embed to answer 200 again', 20_000);
    const queue = new Queue('inference', { connection: inspect, prefix: config.keyPrefix });
    try {
      await waitFor(
        async () => {
          const c = await queue.getJobCounts('waiting', 'prioritized', 'active');
          return (c.waiting ?? 0) + (c.prioritized ?? 0) + (c.active ?? 0) === 0;
        },
        'the queue to be empty',
        15_000,
      );
    } finally {
      await queue.close();
    }
  });
});
