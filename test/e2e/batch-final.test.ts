/**
 * A batch always reaches its final status and its webhook (issue 13, item 3), even when its
 * photos cannot be deleted for a while, or its final step gives up altogether.
 *
 * The photo fault is real: the batch's folder under DATA_DIR/blobs is made immutable
 * (`chattr +i` as root, where permissions do not stop writes; `chmod 0555` otherwise), so every
 * unlink in it fails (EPERM/EACCES) while reads still work. The parent's fault is injected by
 * wrapping the worker's real store so that counting results fails while the test says so.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { JobStatus } from '../../src/shared/schemas.js';
import { startWorkerService, type WorkerService } from '../../src/worker/service.js';
import { enroll, item, lfw, results, status, untilFinished, type Accepted } from '../helpers/batches.js';
import { logger, startService, trackRedisClients, waitFor, type TestService } from '../helpers/service.js';
import { withStoreMethods } from '../helpers/store-faults.js';
import { startReceiver } from '../helpers/webhook-receiver.js';
import { canFreeze, freeze, thaw } from '../helpers/frozen-dir.js';

/**
 * Clean-up retries every 250 ms (the cap), 20 attempts: it gives up about 4.75 s after its
 * first try. The parent gets 2 attempts (1 s apart) instead of 8 (127 s).
 */
const ENV = {
  DUPLICATE_POLICY: 'warn',
  // A batch webhook_url needs a secret the receiver knows before the batch is sent.
  WEBHOOK_SECRET: 'whsec_YmF0Y2gtZmluYWwtdGVzdC1zZWNyZXQ=',
  WEBHOOK_ALLOW: '127.0.0.1',
  WEBHOOK_RETRY_SCHEDULE_MS: '200,200,200',
  WEBHOOK_TIMEOUT_MS: '500',
  PHOTO_CLEANUP_ATTEMPTS: '20',
  PHOTO_CLEANUP_MAX_DELAY_MS: '250',
  BATCH_PARENT_ATTEMPTS: '2',
};
const NAMES = ['Aaron_Peirsol', 'Abdullah_Gul', 'Al_Sharpton'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const statusOf = (svc: TestService, jobId: string) => status(svc.app, jobId);

/** What BullMQ says about the batch's parent job: why the batch is not final, if it is not. */
async function parentState(svc: TestService, jobId: string): Promise<string> {
  const h = await svc.redis.hgetall(`${svc.config.keyPrefix}:batch:${jobId}`);
  return `parent: attemptsMade=${h.atm ?? '?'} finishedOn=${h.finishedOn ?? '-'} failedReason=${h.failedReason ?? '-'}`;
}

/** The final status, or a failure saying what the parent job is doing. */
async function finalStatus(svc: TestService, jobId: string, timeoutMs: number): Promise<JobStatus> {
  try {
    return (await untilFinished(svc.app, jobId, timeoutMs)).at(-1) as JobStatus;
  } catch (err) {
    assert.fail(`${(err as Error).message}; ${await parentState(svc, jobId)}`);
  }
}

async function webhookEvent(
  receiver: Awaited<ReturnType<typeof startReceiver>>,
  path: string,
): Promise<{ type: string; data: Record<string, unknown> }> {
  await waitFor(() => receiver.got(path).length > 0, `the webhook to ${path}`, 5000);
  const got = receiver.got(path);
  assert.equal(got.length, 1, 'the webhook arrived more than once');
  return JSON.parse(got[0]?.body ?? '{}') as { type: string; data: Record<string, unknown> };
}

let receiver: Awaited<ReturnType<typeof startReceiver>>;
before(async () => {
  receiver = await startReceiver();
});
after(() => receiver?.close());

describe('batches whose photos cannot be deleted for a while', () => {
  let svc: TestService;
  let worker: WorkerService | undefined;
  let closeLeftovers: (() => unknown) | undefined;
  const frozen = new Set<string>();
  const blobDir = (jobId: string) => join(svc.config.dataDir, 'blobs', jobId);
  let usable = true;
  const batches: Record<'short' | 'long', Accepted & { path: string; dir: string }> = {} as never;

  before(async () => {
    // No worker yet: both batches' photos are on disk, and frozen, before any item runs.
    svc = await startService({ worker: false, env: ENV });
    for (const fault of ['short', 'long'] as const) {
      const path = `/ok-photos-${fault}`;
      const accepted = await enroll(svc.app, {
        items: NAMES.map((n) => item(n, lfw(n))),
        webhook_url: receiver.url(path),
      });
      batches[fault] = { ...accepted, path, dir: blobDir(accepted.job_id) };
    }
    usable = canFreeze(batches.short.dir);
    if (!usable) return;
    for (const { dir } of Object.values(batches)) {
      freeze(dir);
      frozen.add(dir);
    }
    [worker, closeLeftovers] = await trackRedisClients(() => startWorkerService(svc.config, logger));
  });
  after(async () => {
    for (const dir of frozen) thaw(dir);
    await worker?.close(5000);
    await closeLeftovers?.();
    await svc?.stop();
  });

  it('reaches its final status and sends its webhook while the photos cannot be deleted', async (t) => {
    if (!usable) return t.skip('cannot make a folder immutable here');
    const { job_id, path, dir } = batches.short;
    // Before the fix the parent retried the deletion 5 times (1+2+4+8 s), failed, and the
    // batch stayed active for ever.
    const final = await finalStatus(svc, job_id, 20_000);
    assert.equal(final.status, 'completed');
    assert.deepEqual(final.progress, { total: 3, done: 3, failed: 0 });
    assert.equal(final.photos, 'pending_deletion');
    assert.equal(final.failure_reason, null);
    const { items } = await results(svc.app, job_id);
    assert.deepEqual(
      items.map((r) => [r.ref, r.outcome]),
      NAMES.map((n) => [n, 'ENROLLED']),
      'an item whose photo could not be deleted keeps its outcome',
    );
    const event = await webhookEvent(receiver, path);
    assert.deepEqual([event.type, event.data.status], ['job.completed', 'completed']);
    assert.deepEqual(readdirSync(dir).sort(), ['0-0', '1-0', '2-0'], 'the photos are still there');
  });

  it('keeps retrying the deletion, and deletes the photos once the fault is gone', async (t) => {
    if (!usable) return t.skip('cannot make a folder immutable here');
    const { job_id, dir } = batches.short;
    await sleep(1000); // a few more clean-up attempts fail meanwhile
    assert.equal((await statusOf(svc, job_id)).photos, 'pending_deletion');
    thaw(dir);
    frozen.delete(dir);
    await waitFor(() => !existsSync(dir), 'the photos deleted once the fault is gone', 5000);
    await waitFor(async () => (await statusOf(svc, job_id)).photos === 'deleted', 'photos: deleted', 5000);
    const s = await statusOf(svc, job_id);
    assert.equal(s.status, 'completed');
    assert.equal(receiver.got(batches.short.path).length, 1, 'one webhook, not one per clean-up attempt');
  });

  it('reports photos deletion_failed when the fault outlasts the retries; status and webhook stand', async (t) => {
    if (!usable) return t.skip('cannot make a folder immutable here');
    const { job_id, path, dir } = batches.long;
    const final = await finalStatus(svc, job_id, 20_000);
    assert.equal(final.status, 'completed');
    assert.equal((await webhookEvent(receiver, path)).type, 'job.completed');
    await waitFor(
      async () => (await statusOf(svc, job_id)).photos === 'deletion_failed',
      'photos: deletion_failed',
      15_000,
    );
    const s = await statusOf(svc, job_id);
    assert.deepEqual([s.status, s.finished_at], ['completed', final.finished_at]);
    assert.deepEqual(
      readdirSync(dir).sort(),
      ['0-0', '1-0', '2-0'],
      'reported, not lost: the files are there',
    );
  });
});

describe('a batch whose final step gives up (its store fails longer than the parent retries)', () => {
  let svc: TestService;
  let storeDown = false;
  const injected = () => Object.assign(new Error('store unavailable (injected fault)'), { code: 'EIO' });
  /** The worker's real store, except that counting results fails while `storeDown`. */
  const wrapPersistence = withStoreMethods({
    countItemResults: (real) => (storeDown ? () => Promise.reject(injected()) : real),
  });

  before(async () => {
    svc = await startService({ env: ENV, wrapPersistence });
  });
  after(() => svc?.stop());

  it('ends failed with a failure_reason, then sends job.failed and deletes the photos', async () => {
    storeDown = true;
    const path = '/ok-parent-gave-up';
    const { job_id } = await enroll(svc.app, {
      items: [item('Aaron_Peirsol', lfw('Aaron_Peirsol'))],
      webhook_url: receiver.url(path),
    });
    // The parent's 2 attempts fail; the clean-up it leaves behind marks the batch failed.
    const final = await finalStatus(svc, job_id, 15_000);
    assert.equal(final.status, 'failed');
    assert.match(final.failure_reason ?? '', /^the batch could not be finalised: store unavailable/);
    assert.ok(final.finished_at && final.started_at);
    assert.match(await parentState(svc, job_id), /finishedOn=\d+ failedReason=store unavailable/);
    // Its webhook needs the counts: it goes as soon as the store answers again.
    await sleep(500);
    assert.equal(receiver.got(path).length, 0);
    storeDown = false;
    const event = await webhookEvent(receiver, path);
    assert.equal(event.type, 'job.failed');
    assert.equal(event.data.status, 'failed');
    assert.equal(event.data.failure_reason, final.failure_reason);
    assert.deepEqual(event.data.progress, { total: 1, done: 1, failed: 0 });
    await waitFor(async () => (await statusOf(svc, job_id)).photos === 'deleted', 'photos: deleted', 5000);
    assert.equal(existsSync(join(svc.config.dataDir, 'blobs', job_id)), false);
    const { items } = await results(svc.app, job_id);
    assert.deepEqual(
      items.map((r) => r.outcome),
      ['ENROLLED'],
    );
  });
});

describe('a batch with a person whose queue job fails for good (its retries spent)', () => {
  let svc: TestService;
  const injected = () => Object.assign(new Error('store unavailable (injected fault)'), { code: 'EIO' });
  /** The worker's real store, except that recording Abdullah_Gul's outcome always fails. */
  const wrapPersistence = withStoreMethods({
    putItemResult: (real) => (r) => (r.ref === 'Abdullah_Gul' ? Promise.reject(injected()) : real(r)),
  });

  before(async () => {
    svc = await startService({ env: ENV, wrapPersistence });
  });
  after(() => svc?.stop());

  it('records the failure for that person, from its job’s reason, and the others of the job as they ended', async () => {
    // Three people, one queue job (ENROLL_PEOPLE_PER_JOB 8): its 4 attempts fail on the one.
    const { job_id } = await enroll(svc.app, { items: NAMES.map((n) => item(n, lfw(n))) });
    const final = await finalStatus(svc, job_id, 30_000);
    assert.equal(final.status, 'completed_with_errors');
    assert.deepEqual(final.progress, { total: 3, done: 3, failed: 1 });
    const { items } = await results(svc.app, job_id);
    assert.deepEqual(
      items.map((r) => [r.index, r.outcome, r.ok]),
      [
        [0, 'ENROLLED', true],
        [1, items[1]?.outcome, false],
        [2, 'ENROLLED', true],
      ],
    );
    // The job's own failure, not the fallback for an item BullMQ knows nothing of.
    assert.match(String(items[1]?.error), /injected fault/, JSON.stringify(items[1]));
  });
});
