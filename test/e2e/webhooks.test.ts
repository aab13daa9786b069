/**
 * Batch webhooks end to end: a real receiver on 127.0.0.1, real deliveries by the worker, and
 * signatures checked with the official Standard Webhooks verifier.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { enroll, greyJpeg, item, lfw, status, untilFinished, type Accepted } from '../helpers/batches.js';
import { expectError, json, postJson, startService, waitFor, type TestService } from '../helpers/service.js';
import { startReceiver, type Received } from '../helpers/webhook-receiver.js';

interface Delivery {
  delivery_id: string;
  event: string;
  attempt: number;
  status_code: number | null;
  error: string | null;
  delivered: boolean;
}

const ENV = {
  WEBHOOK_ALLOW: '127.0.0.1',
  WEBHOOK_RETRY_SCHEDULE_MS: '200,200,200',
  WEBHOOK_TIMEOUT_MS: '500',
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Retry schedule 3 x 200 ms plus margin: after this, no further attempt can come. */
const QUIET_MS = 1500;

let receiver: Awaited<ReturnType<typeof startReceiver>>;
let serial = 0;
before(async () => {
  receiver = await startReceiver();
});
after(() => receiver?.close());

async function deliveries(svc: TestService, jobId: string): Promise<Delivery[]> {
  const res = await svc.app.request(`/api/v1/jobs/${jobId}/webhook-deliveries`);
  assert.equal(res.status, 200);
  return (await json<{ deliveries: Delivery[] }>(res)).deliveries;
}

async function untilDeliveries(svc: TestService, jobId: string, count: number): Promise<Delivery[]> {
  await waitFor(async () => (await deliveries(svc, jobId)).length >= count, `${count} deliveries`, 20_000);
  return deliveries(svc, jobId);
}

/**
 * Enrolls one person with a webhook to `path` (made unique) and a secret of the caller's own;
 * returns the 202, the path used and the secret.
 */
async function batchTo(
  svc: TestService,
  path: string,
  image?: Buffer,
): Promise<{ accepted: Accepted; job_id: string; path: string; secret: string }> {
  const unique = `${path}-${serial++}`;
  const secret = `whsec_${randomBytes(24).toString('base64')}`;
  const body = {
    items: [item('webhook-user', image ?? lfw('Aaron_Peirsol'))],
    webhook_url: receiver.url(unique),
    webhook_secret: secret,
  };
  const accepted = await enroll(svc.app, body);
  return { accepted, job_id: accepted.job_id, path: unique, secret };
}

const summary = (d: Delivery[]) => d.map((x) => [x.attempt, x.status_code, x.delivered]);

describe('webhooks with a per-batch secret of the caller', () => {
  let svc: TestService;
  before(async () => {
    svc = await startService({ env: ENV });
  });
  after(() => svc?.stop());

  it('delivers job.completed once, signed so that the standardwebhooks verifier accepts it', async () => {
    const accepted = await batchTo(svc, '/ok');
    const { secret } = accepted;
    assert.equal('webhook_secret' in accepted.accepted, false, 'the 202 returns no secret');
    assert.equal('webhook_secret' in (await status(svc.app, accepted.job_id)), false);
    assert.deepEqual(summary(await untilDeliveries(svc, accepted.job_id, 1)), [[1, 200, true]]);
    await sleep(QUIET_MS);
    const got = receiver.got(accepted.path);
    assert.equal(got.length, 1, 'the event arrived more than once');
    const [{ headers, body }] = got as [Received];
    assert.equal(headers['webhook-id'], `msg_${accepted.job_id}_job_completed`);
    assert.match(headers['webhook-timestamp'] ?? '', /^\d{10}$/);
    assert.match(headers['webhook-signature'] ?? '', /^v1,[A-Za-z0-9+/=]+$/);
    const event = new Webhook(secret).verify(body, headers) as {
      type: string;
      data: { job_id: string; status: string; progress: unknown; results_url: string };
    };
    assert.equal(event.type, 'job.completed');
    assert.equal(event.data.job_id, accepted.job_id);
    assert.equal(event.data.status, 'completed');
    assert.deepEqual(event.data.progress, { total: 1, done: 1, failed: 0 });
    assert.equal(event.data.results_url, `/api/v1/jobs/${accepted.job_id}/results`);
    const other = `whsec_${randomBytes(24).toString('base64')}`;
    assert.throws(() => new Webhook(other).verify(body, headers), /signature/i);
    assert.throws(
      () => new Webhook(secret).verify(body.replace('completed', 'failed'), headers),
      /signature/i,
    );
  });

  it('sends job.failed when every item of the batch fails', async () => {
    const accepted = await batchTo(svc, '/ok', await greyJpeg());
    const [d] = await untilDeliveries(svc, accepted.job_id, 1);
    assert.equal(d?.event, 'job.failed');
    const [{ headers, body }] = receiver.got(accepted.path) as [Received];
    const event = new Webhook(accepted.secret).verify(body, headers) as { type: string };
    assert.equal(event.type, 'job.failed');
  });

  it('retries a receiver that fails with 500 twice, then records 500, 500, 200 delivered', async () => {
    const accepted = await batchTo(svc, '/flaky');
    const attempts = await untilDeliveries(svc, accepted.job_id, 3);
    assert.deepEqual(summary(attempts), [
      [1, 500, false],
      [2, 500, false],
      [3, 200, true],
    ]);
    assert.equal(attempts[0]?.error, 'HTTP 500');
    await sleep(QUIET_MS);
    const got = receiver.got(accepted.path);
    assert.equal(got.length, 3);
    const ids = new Set(got.map((r) => r.headers['webhook-id']));
    assert.deepEqual([...ids], [`msg_${accepted.job_id}_job_completed`], 'one webhook-id across retries');
    for (const r of got) new Webhook(accepted.secret).verify(r.body, r.headers);
    for (let i = 1; i < got.length; i++) {
      const gap = (got[i]?.at ?? 0) - (got[i - 1]?.at ?? 0);
      assert.ok(gap >= 150, `retry ${i} came ${gap} ms after the previous attempt`);
    }
  });

  it('stops after one attempt when the receiver answers 410 Gone', async () => {
    const accepted = await batchTo(svc, '/gone');
    await untilDeliveries(svc, accepted.job_id, 1);
    await sleep(QUIET_MS);
    assert.deepEqual(summary(await deliveries(svc, accepted.job_id)), [[1, 410, false]]);
    assert.equal(receiver.got(accepted.path).length, 1);
  });

  it('does not follow a 302 redirect: each attempt fails, and the target is never called', async () => {
    const accepted = await batchTo(svc, '/redirect');
    const attempts = await untilDeliveries(svc, accepted.job_id, 4);
    assert.deepEqual(summary(attempts), [
      [1, 302, false],
      [2, 302, false],
      [3, 302, false],
      [4, 302, false],
    ]);
    await sleep(QUIET_MS);
    assert.equal(receiver.got(accepted.path).length, 4);
    assert.equal(receiver.got('/ok-target').length, 0);
  });

  it('records a receiver that never answers as timed out, on every attempt', async () => {
    const accepted = await batchTo(svc, '/hang');
    const attempts = await untilDeliveries(svc, accepted.job_id, 4);
    assert.deepEqual(
      attempts.map((d) => [d.attempt, d.status_code, d.error, d.delivered]),
      [1, 2, 3, 4].map((n) => [n, null, 'timed out', false]),
    );
    assert.equal(receiver.got(accepted.path).length, 4);
  });

  it('refuses a webhook_url on 127.0.0.1 or localhost without WEBHOOK_ALLOW: 400 INVALID_REQUEST', async () => {
    const strict = svc.appWith({ WEBHOOK_ALLOW: '' });
    const port = new URL(receiver.url('/')).port;
    for (const host of ['127.0.0.1', 'localhost']) {
      const body = {
        items: [item('webhook-user', lfw('Aaron_Peirsol'))],
        webhook_url: `http://${host}:${port}/ok`,
      };
      const err = await expectError(
        await postJson(strict, '/api/v1/enrollments', body),
        400,
        'INVALID_REQUEST',
      );
      assert.equal(err.field, 'webhook_url');
    }
  });
});

describe('webhooks with a configured WEBHOOK_SECRET', () => {
  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  let svc: TestService;
  before(async () => {
    svc = await startService({ env: { ...ENV, WEBHOOK_SECRET: secret } });
  });
  after(() => svc?.stop());

  it('returns no secret in the 202 and signs with the configured one', async () => {
    const path = `/ok-configured-${serial++}`;
    const accepted = {
      path,
      ...(await enroll(svc.app, {
        items: [item('webhook-user', lfw('Aaron_Peirsol'))],
        webhook_url: receiver.url(path),
      })),
    };
    assert.equal('webhook_secret' in accepted, false);
    assert.equal((await untilFinished(svc.app, accepted.job_id)).at(-1)?.status, 'completed');
    assert.deepEqual(summary(await untilDeliveries(svc, accepted.job_id, 1)), [[1, 200, true]]);
    const [{ headers, body }] = receiver.got(accepted.path) as [Received];
    const event = new Webhook(secret).verify(body, headers) as { type: string; data: { job_id: string } };
    assert.equal(event.type, 'job.completed');
    assert.equal(event.data.job_id, accepted.job_id);
  });
});
