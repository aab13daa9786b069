/**
 * Graceful shutdown of a real worker process: the first SIGTERM stops taking jobs and lets the
 * active ones finish; a second signal exits at once. Nothing accepted is lost either way.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { SYNC_JOB_OPTIONS } from '../../src/shared/jobs/options.js';
import { modelsDir, photo } from '../helpers/faces.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const workerMain = fileURLToPath(new URL('../../src/worker/main.js', import.meta.url));
const image = photo('Aaron_Peirsol', 1).toString('base64');

function startWorker(prefix: string, dataDir: string, extra: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [workerMain], {
    env: {
      ...process.env,
      KEY_PREFIX: prefix,
      DATA_DIR: dataDir,
      REDIS_URL,
      MODELS_DIR: modelsDir,
      POOL_SIZE: '1',
      WORKER_CONCURRENCY: '2',
      WORKER_METRICS_PORT: '0',
      SHUTDOWN_GRACE_MS: '20000',
      LOG_LEVEL: 'warn',
      ...extra,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

const exited = (child: ChildProcess) =>
  new Promise<{ code: number | null; at: number }>((resolve) =>
    child.once('exit', (code) => resolve({ code, at: Date.now() })),
  );

type State = 'active' | 'completed' | 'failed' | 'prioritized' | 'waiting';

async function counts(queue: Queue): Promise<Record<State, number>> {
  const c = await queue.getJobCounts('active', 'completed', 'failed', 'prioritized', 'waiting');
  return {
    active: c.active ?? 0,
    completed: c.completed ?? 0,
    failed: c.failed ?? 0,
    prioritized: c.prioritized ?? 0,
    waiting: c.waiting ?? 0,
  };
}

async function until(check: () => Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

void describe('worker shutdown', () => {
  const prefix = `test-shutdown-${process.pid}-${Date.now()}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'shelia-shutdown-'));
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  const queue = new Queue('inference', { connection: redis, prefix });
  const children: ChildProcess[] = [];

  before(async () => {
    await queue.waitUntilReady();
  });

  after(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
    rmSync(dataDir, { recursive: true, force: true });
  });

  void it('on SIGTERM finishes its active jobs, takes no new ones and exits 0', async () => {
    const child = startWorker(prefix, dataDir);
    children.push(child);
    const exit = exited(child);
    const jobs = await queue.addBulk(
      Array.from({ length: 40 }, () => ({
        name: 'embed',
        data: { image, face: 'largest' },
        // Kept when completed (sync jobs are removed as they complete), so the counts below see them.
        opts: { ...SYNC_JOB_OPTIONS, removeOnComplete: false },
      })),
    );
    await until(async () => (await counts(queue)).completed >= 2, 'the first jobs to complete');
    child.kill('SIGTERM');
    const { code } = await exit;
    assert.equal(code, 0);
    const c = await counts(queue);
    assert.equal(c.active, 0, 'no job was left half-done');
    assert.equal(c.failed, 0);
    assert.ok(c.completed >= 2);
    assert.equal(c.completed + c.prioritized + c.waiting, jobs.length, 'every job is done or still queued');
    assert.ok(c.prioritized + c.waiting > 0, 'it stopped taking jobs before the queue was empty');
  });

  void it('a second signal exits at once instead of waiting for the drain', async () => {
    // A webhook to a receiver that never answers keeps a job active for WEBHOOK_TIMEOUT_MS.
    const hanging = createServer(() => undefined);
    await new Promise<void>((r) => hanging.listen(0, '127.0.0.1', r));
    const port = (hanging.address() as AddressInfo).port;
    const child = startWorker(prefix, dataDir, {
      WEBHOOK_ALLOW: '127.0.0.1',
      WEBHOOK_SECRET: 'whsec_c2hlbGlhLXRlc3Qtc2VjcmV0',
      WEBHOOK_TIMEOUT_MS: '20000',
    });
    children.push(child);
    const exit = exited(child);
    const hooks = new Queue('webhooks', { connection: redis, prefix });
    await hooks.add('webhook', {
      delivery_id: 'msg_shutdown',
      job_id: 'job_none',
      event: 'job.completed',
      url: `http://127.0.0.1:${port}/hook`,
      payload: {},
    });
    await until(async () => (await hooks.getJobCounts('active')).active === 1, 'the webhook to be in flight');
    child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(child.exitCode, null, 'the first signal waits for the active job');
    const second = Date.now();
    child.kill('SIGTERM');
    const { code, at } = await exit;
    assert.equal(code, 1);
    assert.ok(at - second < 2000, `exited ${at - second} ms after the second signal`);
    await hooks.close();
    hanging.closeAllConnections();
    hanging.close();
  });
});
