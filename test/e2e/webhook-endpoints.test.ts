/**
 * Registered webhook endpoints: told about every batch, each delivery signed with the
 * endpoint's own secret; a 410 disables the endpoint; secrets are shown once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { WEBHOOK_ENDPOINT_BODY_BYTES } from '../../src/api/routes/webhook-endpoints.js';
import { enroll, item, lfw, untilFinished } from '../helpers/batches.js';
import { expectError, json, postJson, startService, waitFor, type TestService } from '../helpers/service.js';
import { startReceiver } from '../helpers/webhook-receiver.js';

interface Endpoint {
  endpoint_id: string;
  url: string;
  secret?: string;
  disabled_at: string | null;
}

describe('registered webhook endpoints', () => {
  let svc: TestService;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  before(async () => {
    receiver = await startReceiver();
    svc = await startService({ env: { WEBHOOK_ALLOW: '127.0.0.1', WEBHOOK_RETRY_SCHEDULE_MS: '200,200' } });
  });
  after(async () => {
    await svc?.stop();
    await receiver?.close();
  });

  const register = async (url: string, secret?: string) => {
    const res = await postJson(svc.app, '/api/v1/webhook-endpoints', { url, ...(secret ? { secret } : {}) });
    assert.equal(res.status, 201);
    return json<Endpoint>(res);
  };

  it('signs every batch’s event with each endpoint’s own secret, alongside the batch’s own URL', async () => {
    const a = await register(receiver.url('/ok/a'));
    const b = await register(receiver.url('/ok/b'), 'whsec_c2hlbGlhLWVuZHBvaW50LWI=');
    assert.match(a.secret ?? '', /^whsec_/);
    assert.equal(b.secret, 'whsec_c2hlbGlhLWVuZHBvaW50LWI=');
    const batchSecret = 'whsec_YmF0Y2gtb3duLXNlY3JldC1mb3ItdGVzdHM=';
    const accepted = await enroll(svc.app, {
      items: [item('Aaron_Peirsol', lfw('Aaron_Peirsol'))],
      webhook_url: receiver.url('/ok/batch'),
      webhook_secret: batchSecret,
    });
    await untilFinished(svc.app, accepted.job_id);
    await waitFor(
      () => Promise.resolve(['/ok/a', '/ok/b', '/ok/batch'].every((p) => receiver.got(p).length === 1)),
      'three deliveries',
    );
    for (const [path, secret] of [
      ['/ok/a', a.secret],
      ['/ok/b', b.secret],
      ['/ok/batch', batchSecret],
    ] as const) {
      const [got] = receiver.got(path);
      assert.ok(got && secret, path);
      const event = new Webhook(secret).verify(got.body, got.headers) as { data: { job_id: string } };
      assert.equal(event.data.job_id, accepted.job_id);
      assert.throws(() =>
        new Webhook(a.secret === secret ? (b.secret ?? '') : (a.secret ?? '')).verify(got.body, got.headers),
      );
    }
  });

  it('lists endpoints without their secrets, and deletes them', async () => {
    const c = await register(receiver.url('/ok/c'));
    const listed = await json<{ endpoints: Endpoint[] }>(await svc.app.request('/api/v1/webhook-endpoints'));
    assert.ok(listed.endpoints.some((e) => e.endpoint_id === c.endpoint_id));
    assert.ok(listed.endpoints.every((e) => e.secret === undefined));
    const del = await svc.app.request(`/api/v1/webhook-endpoints/${c.endpoint_id}`, { method: 'DELETE' });
    assert.equal(del.status, 204);
    const again = await svc.app.request(`/api/v1/webhook-endpoints/${c.endpoint_id}`, { method: 'DELETE' });
    await expectError(again, 404, 'NOT_FOUND');
  });

  it('disables an endpoint that answers 410, after one attempt', async () => {
    const gone = await register(receiver.url('/gone/endpoint'));
    const accepted = await enroll(svc.app, { items: [item('Abdullah_Gul', lfw('Abdullah_Gul'))] });
    await untilFinished(svc.app, accepted.job_id);
    await waitFor(async () => {
      const { endpoints } = await json<{ endpoints: Endpoint[] }>(
        await svc.app.request('/api/v1/webhook-endpoints'),
      );
      return endpoints.find((e) => e.endpoint_id === gone.endpoint_id)?.disabled_at != null;
    }, 'the endpoint to be disabled');
    assert.equal(receiver.got('/gone/endpoint').length, 1);
  });

  it('answers 413 PAYLOAD_TOO_LARGE over 16 KB, declared or streamed, without reading the rest', async () => {
    // Issue 13.5: this route had no limit; six 500 MB bodies took the API to 5.4 GB RSS.
    const big = JSON.stringify({
      url: receiver.url('/ok/big'),
      pad: 'x'.repeat(WEBHOOK_ENDPOINT_BODY_BYTES),
    });
    const declared = await postJson(svc.app, '/api/v1/webhook-endpoints', big, {
      'content-length': String(big.length),
    });
    assert.equal(
      (await expectError(declared, 413, 'PAYLOAD_TOO_LARGE')).max_bytes,
      WEBHOOK_ENDPOINT_BODY_BYTES,
    );
    // 500 MB offered as a stream with no length: the limit stops reading a chunk or two past 16 KB.
    const chunk = new TextEncoder().encode(`{"url":"${'a'.repeat(64 * 1024 - 9)}`);
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += chunk.length;
        if (pulled > 500 * 1024 * 1024) controller.close();
        else controller.enqueue(chunk);
      },
    });
    const streamed = await svc.app.request('/api/v1/webhook-endpoints', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      duplex: 'half',
    });
    await expectError(streamed, 413, 'PAYLOAD_TOO_LARGE');
    assert.ok(pulled < 1024 * 1024, `read ${pulled} bytes of a body refused at 16 KB`);
    // A real registration is far below the limit.
    const small = await postJson(svc.app, '/api/v1/webhook-endpoints', { url: receiver.url('/ok/small') });
    assert.equal(small.status, 201);
  });

  it('refuses a private address without the allowlist, and a malformed secret', async () => {
    const strict = svc.appWith({ WEBHOOK_ALLOW: '' });
    const res = await postJson(strict, '/api/v1/webhook-endpoints', { url: 'http://10.1.2.3/hook' });
    assert.equal((await expectError(res, 400, 'INVALID_REQUEST')).field, 'webhook_url');
    const bad = await postJson(svc.app, '/api/v1/webhook-endpoints', {
      url: receiver.url('/ok/x'),
      secret: 'plain',
    });
    assert.equal((await expectError(bad, 400, 'INVALID_REQUEST')).field, 'secret');
  });
});
