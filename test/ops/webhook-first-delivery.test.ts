/**
 * Webhooks verify on the first delivery: the secret is the receiver's before the batch is sent
 * (the caller's webhook_secret, a registered endpoint's, or WEBHOOK_SECRET), never generated and
 * returned in the 202. Without one a batch webhook_url is refused. attendance.recorded comes once
 * per confirmed record, not per sighting. A failed attempt is a warning log line (host only).
 * A real receiver, real deliveries, and the official standardwebhooks verifier.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { createLogger } from '../../src/shared/logger.js';
import { b64, enroll, item, lfw, untilFinished } from '../helpers/batches.js';
import { expectError, json, postJson, startService, waitFor, type TestService } from '../helpers/service.js';
import { startReceiver } from '../helpers/webhook-receiver.js';

const newSecret = () => `whsec_${randomBytes(24).toString('base64')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Event {
  type: string;
  data: Record<string, unknown>;
}

describe('webhooks: the first delivery verifies; attendance.recorded per confirmed record', () => {
  let svc: TestService;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const logLines: string[] = [];
  let serial = 0;
  const unique = (path: string) => `${path}-${serial++}`;

  before(async () => {
    receiver = await startReceiver();
    svc = await startService({
      env: { WEBHOOK_ALLOW: '127.0.0.1', WEBHOOK_RETRY_SCHEDULE_MS: '200,200', WEBHOOK_TIMEOUT_MS: '1000' },
      logger: createLogger('warn', 'test', 'json', { write: (s: string) => void logLines.push(s) }),
    });
    const enrolled = await enroll(svc.app, { items: [item('Aaron_Peirsol', lfw('Aaron_Peirsol', 1))] });
    assert.equal((await untilFinished(svc.app, enrolled.job_id)).at(-1)?.status, 'completed');
  });
  after(async () => {
    await svc?.stop();
    await receiver?.close();
  });

  it('refuses a webhook_url with no secret the receiver could know: 400 WEBHOOK_SECRET_REQUIRED naming the options', async () => {
    const res = await postJson(svc.app, '/api/v1/enrollments', {
      items: [item('someone', lfw('Aaron_Peirsol', 1))],
      webhook_url: receiver.url('/ok-none'),
    });
    const err = await expectError(res, 400, 'WEBHOOK_SECRET_REQUIRED');
    assert.equal(err.field, 'webhook_secret');
    assert.match(String(err.error), /webhook_secret.*POST \/api\/v1\/webhook-endpoints.*WEBHOOK_SECRET/);
    assert.equal(receiver.got('/ok-none').length, 0);
  });

  it('refuses a webhook_secret that is not whsec_ + base64 of 16+ bytes', async () => {
    for (const bad of ['plain-text', 'whsec_c2hvcnQ=', 'whsec_not base64!']) {
      const res = await postJson(svc.app, '/api/v1/enrollments', {
        items: [item('someone', lfw('Aaron_Peirsol', 1))],
        webhook_url: receiver.url('/ok-bad'),
        webhook_secret: bad,
      });
      assert.equal((await expectError(res, 400, 'INVALID_REQUEST')).field, 'webhook_secret', bad);
    }
  });

  it("the caller's webhook_secret: the first delivery verifies, the 202 carries no secret", async () => {
    const path = unique('/ok-own');
    const secret = newSecret();
    const res = await postJson(svc.app, '/api/v1/enrollments', {
      items: [item('Aaron_Peirsol', lfw('Aaron_Peirsol', 2))],
      webhook_url: receiver.url(path),
      webhook_secret: secret,
    });
    assert.equal(res.status, 202);
    const accepted = await json<Record<string, unknown>>(res);
    assert.deepEqual(Object.keys(accepted).sort(), ['items', 'job_id', 'status_url']);
    await waitFor(() => receiver.got(path).length > 0, 'the first delivery', 30_000);
    const [first] = receiver.got(path);
    assert.ok(first);
    const event = new Webhook(secret).verify(first.body, first.headers) as Event;
    assert.equal(event.type, 'job.completed');
    assert.equal(event.data.job_id, accepted.job_id);
  });

  it("a registered endpoint's URL needs no other secret: one delivery, signed with the endpoint's", async () => {
    const path = unique('/ok-endpoint');
    const reg = await postJson(svc.app, '/api/v1/webhook-endpoints', { url: receiver.url(path) });
    assert.equal(reg.status, 201);
    const endpoint = await json<{ endpoint_id: string; secret: string; events?: string[] }>(reg);
    const accepted = await enroll(svc.app, {
      items: [item('Aaron_Peirsol', lfw('Aaron_Peirsol', 3))],
      webhook_url: receiver.url(path),
    });
    await waitFor(() => receiver.got(path).length > 0, 'the first delivery', 30_000);
    await sleep(1000);
    const got = receiver.got(path);
    assert.equal(
      got.length,
      1,
      'the URL gets the event once, not once as the batch and once as the endpoint',
    );
    const event = new Webhook(endpoint.secret).verify(got[0]?.body ?? '', got[0]?.headers ?? {}) as Event;
    assert.equal(event.data.job_id, accepted.job_id);
    const del = await svc.app.request(`/api/v1/webhook-endpoints/${endpoint.endpoint_id}`, {
      method: 'DELETE',
    });
    assert.equal(del.status, 204);
  });

  it('attendance.recorded: one per confirmed record (not per sighting), to the batch and to subscribed endpoints', async () => {
    const batchPath = unique('/ok-att-batch');
    const subscribedPath = unique('/ok-att-endpoint');
    const jobsOnlyPath = unique('/ok-att-jobs-only');
    const subscribed = await json<{ endpoint_id: string; secret: string; events: string[] }>(
      await postJson(svc.app, '/api/v1/webhook-endpoints', {
        url: receiver.url(subscribedPath),
        events: ['attendance.recorded'],
      }),
    );
    assert.deepEqual(subscribed.events, ['attendance.recorded']);
    const jobsOnly = await json<{ endpoint_id: string }>(
      await postJson(svc.app, '/api/v1/webhook-endpoints', { url: receiver.url(jobsOnlyPath) }),
    );
    const secret = newSecret();
    // Three sightings of the enrolled person on one camera within the window (one record, its
    // enrollment photo: a strong match, so confirmed) and a stranger (an unknown record, no event).
    const t0 = Date.parse('2026-01-05T09:00:00Z');
    const at = (s: number) => new Date(t0 + s * 1000).toISOString();
    const frames = [
      { image: b64(lfw('Aaron_Peirsol', 1)), captured_at: at(0) },
      { image: b64(lfw('Aaron_Peirsol', 1)), captured_at: at(20) },
      { image: b64(lfw('Aaron_Peirsol', 1)), captured_at: at(40) },
      { image: b64(lfw('Abdullah_Gul', 1)), captured_at: at(60) },
    ];
    const res = await postJson(svc.app, '/api/v1/attendance', {
      camera_id: `cam-${serial}`,
      frames,
      webhook_url: receiver.url(batchPath),
      webhook_secret: secret,
    });
    assert.equal(res.status, 202, await res.clone().text());
    const { job_id } = await json<{ job_id: string }>(res);
    await untilFinished(svc.app, job_id, 60_000);
    const isRecorded = (r: { body: string }) => (JSON.parse(r.body) as Event).type === 'attendance.recorded';
    await waitFor(
      () => receiver.got(batchPath).some(isRecorded) && receiver.got(subscribedPath).length > 0,
      'attendance.recorded deliveries',
      30_000,
    );
    await sleep(1500);

    const toBatch = receiver
      .got(batchPath)
      .map((r) => new Webhook(secret).verify(r.body, r.headers) as Event);
    const recorded = toBatch.filter((e) => e.type === 'attendance.recorded');
    assert.equal(recorded.length, 1, 'one event for one confirmed record of three sightings');
    assert.equal(toBatch.filter((e) => e.type === 'job.completed').length, 1);
    const [event] = recorded;
    assert.equal(event?.data.user_id, 'Aaron_Peirsol');
    assert.equal(event?.data.status, 'confirmed');
    assert.equal(event?.data.sightings, 3);
    assert.equal(event?.data.job_id, job_id);

    const toEndpoint = receiver
      .got(subscribedPath)
      .map((r) => new Webhook(subscribed.secret).verify(r.body, r.headers) as Event);
    assert.deepEqual(
      toEndpoint.map((e) => [e.type, e.data.attendance_id]),
      [['attendance.recorded', event?.data.attendance_id]],
      'the subscribed endpoint gets the record event and not job.completed',
    );
    assert.deepEqual(
      receiver.got(jobsOnlyPath).map((r) => (JSON.parse(r.body) as Event).type),
      ['job.completed'],
      'an endpoint with the default events gets no attendance.recorded',
    );
    for (const id of [subscribed.endpoint_id, jobsOnly.endpoint_id])
      await svc.app.request(`/api/v1/webhook-endpoints/${id}`, { method: 'DELETE' });
  });

  it('logs a failed attempt as a warning with the receiver host, status and attempt, never the path', async () => {
    const path = unique('/gone-private-token');
    const accepted = await enroll(svc.app, {
      items: [item('Aaron_Peirsol', lfw('Aaron_Peirsol', 4))],
      webhook_url: receiver.url(path),
      webhook_secret: newSecret(),
    });
    const failed = () =>
      logLines
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((l) => l.msg === 'webhook delivery failed' && String(l.delivery).includes(accepted.job_id));
    await waitFor(() => failed().length > 0, 'the warning', 30_000);
    const [line] = failed();
    assert.equal(line?.level, 40);
    assert.equal(line?.host, new URL(receiver.url('/')).host);
    assert.equal(line?.status, 410);
    assert.equal(line?.attempt, 1);
    assert.ok(!logLines.some((l) => l.includes('gone-private-token')), 'the URL path is not logged');
  });
});
