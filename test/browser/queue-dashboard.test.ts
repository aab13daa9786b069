/**
 * Bull Board at /admin/queues in a real browser: behind the API key (basic auth with the key as
 * password, as a browser sends it), every queue listed, a queued job shown, read-only unless
 * QUEUE_DASHBOARD=admin, unmounted with off, and nothing fetched from another origin.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { QUEUE_NAMES } from '../../src/shared/jobs/queues.js';
import { photo } from '../helpers/faces.js';
import { expectError, json, postJson, startService, type TestService } from '../helpers/service.js';
import { elsewhere, launch, open, serveApp, type Served } from './browser.js';

const KEY = 'dashboard-test-key-0123456789';
const basic = (password: string) => `Basic ${Buffer.from(`operator:${password}`).toString('base64')}`;

let svc: TestService;
let browser: Browser;
let served: Served;
let jobId: string;

before(async () => {
  // No worker: the enrollment item stays queued, where the dashboard must show it.
  svc = await startService({ worker: false, env: { API_KEYS: KEY } });
  const res = await postJson(
    svc.app,
    '/api/v1/enrollments',
    { items: [{ user_id: 'dash-1', name: 'Dash One', image: photo('Aaron_Peirsol', 1).toString('base64') }] },
    { 'x-api-key': KEY },
  );
  assert.equal(res.status, 202);
  const items = svc.jobs.dashboardQueues().find((q) => q.name === 'items');
  const [job] = (await items?.getJobs(['prioritized', 'waiting'])) ?? [];
  assert.ok(job?.id, 'the enrollment item is not queued');
  jobId = job.id;
  served = await serveApp(svc.app);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await served?.close();
  await svc.stop();
});

describe('/admin/queues', () => {
  it('asks for the key: 401 with a basic-auth challenge, the wrong key refused', async () => {
    const none = await svc.app.request('/admin/queues');
    await expectError(none, 401, 'UNAUTHORIZED');
    assert.match(none.headers.get('www-authenticate') ?? '', /^Basic realm=/);
    await expectError(
      await svc.app.request('/admin/queues', { headers: { authorization: basic('nope') } }),
      401,
      'UNAUTHORIZED',
    );
    await expectError(
      await svc.app.request('/admin/queues/api/queues', { headers: { 'x-api-key': 'nope' } }),
      401,
      'UNAUTHORIZED',
    );
    const scripted = await svc.app.request('/admin/queues/api/queues', { headers: { 'x-api-key': KEY } });
    assert.equal(scripted.status, 200);
  });

  it('shows every queue and the queued job in Chromium, all served from this origin', async () => {
    const { page, requests, errors } = await open(browser, {
      httpCredentials: { username: 'operator', password: KEY },
    });
    await page.goto(`${served.origin}/admin/queues`);
    for (const name of QUEUE_NAMES) {
      await page.getByRole('link', { name, exact: true }).first().waitFor();
    }
    await page.goto(`${served.origin}/admin/queues/queue/items?status=waiting`);
    await page.getByText(jobId).first().waitFor();
    assert.ok(await page.getByText('enroll-item').first().isVisible());
    assert.deepEqual(elsewhere(requests, served.origin), []);
    assert.deepEqual(errors, []);
    await page.context().close();
  });

  it('is read-only by default: the board says so and refuses a retry', async () => {
    const h = { headers: { 'x-api-key': KEY } };
    const board = await json<{ queues: { name: string; readOnlyMode: boolean }[] }>(
      await svc.app.request('/admin/queues/api/queues', h),
    );
    assert.deepEqual(board.queues.map((q) => q.name).sort(), [...QUEUE_NAMES].sort());
    assert.ok(board.queues.every((q) => q.readOnlyMode));
    const retry = await svc.app.request('/admin/queues/api/queues/inference/retry/failed', {
      method: 'PUT',
      ...h,
    });
    assert.equal(retry.status, 405);
  });

  it('QUEUE_DASHBOARD=admin allows actions; off leaves it unmounted', async () => {
    const h = { headers: { 'x-api-key': KEY } };
    const admin = svc.appWith({ QUEUE_DASHBOARD: 'admin' });
    const board = await json<{ queues: { readOnlyMode: boolean }[] }>(
      await admin.request('/admin/queues/api/queues', h),
    );
    assert.ok(board.queues.every((q) => !q.readOnlyMode));
    const off = svc.appWith({ QUEUE_DASHBOARD: 'off' });
    await expectError(await off.request('/admin/queues', h), 404, 'NOT_FOUND');
  });

  it('needs no key when no key is configured, like the API', async () => {
    const open = svc.appWith({ API_KEYS: '' });
    assert.equal((await open.request('/admin/queues')).status, 200);
  });
});
