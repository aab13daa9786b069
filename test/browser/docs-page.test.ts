/**
 * /docs in a real browser: Swagger UI, served by Shelia itself, renders every operation of
 * /openapi.json, a try-it call to /api/v1/health succeeds through the UI, and with API keys set
 * the key typed into "Authorize" is sent on a protected call. Nothing is fetched from elsewhere.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { json, startService, type TestService } from '../helpers/service.js';
import { elsewhere, launch, open, serveApp, type Served } from './browser.js';

const KEY = 'docs-test-key-0123456789';

let svc: TestService;
let browser: Browser;
let open_: Served;
let keyed: Served;
let operationCount: number;

before(async () => {
  svc = await startService({ worker: false });
  const doc = await json<{ paths: Record<string, Record<string, unknown>> }>(
    await svc.app.request('/openapi.json'),
  );
  operationCount = Object.values(doc.paths).reduce((n, ops) => n + Object.keys(ops).length, 0);
  open_ = await serveApp(svc.app);
  keyed = await serveApp(svc.appWith({ API_KEYS: KEY }));
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await open_?.close();
  await keyed?.close();
  await svc.stop();
});

describe('/docs in Chromium', () => {
  it('serves no script or style from another origin, and says so in its CSP', async () => {
    const res = await svc.app.request('/docs');
    const html = await res.text();
    assert.doesNotMatch(html, /https?:\/\//, 'an absolute URL in the page');
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    for (const asset of ['/docs/assets/swagger-ui-bundle.js', '/docs/assets/swagger-ui.css']) {
      const a = await svc.app.request(asset);
      assert.equal(a.status, 200, asset);
      assert.ok((await a.arrayBuffer()).byteLength > 10_000, asset);
    }
    assert.equal((await svc.app.request('/docs/assets/package.json')).status, 404);
  });

  it('renders every operation, and a try-it call to /api/v1/health shows its 200 answer', async () => {
    const { page, requests, errors } = await open(browser);
    await page.goto(`${open_.origin}/docs`);
    await page.locator('.opblock').first().waitFor();
    assert.equal(await page.locator('.opblock').count(), operationCount);
    assert.ok(await page.getByText('/api/v1/enrollments', { exact: true }).isVisible());

    const health = page.locator('#operations-Service-getHealth');
    await health.locator('.opblock-summary').click();
    await health.getByRole('button', { name: 'Try it out' }).click();
    await health.getByRole('button', { name: 'Execute' }).click();
    const live = health.locator('.live-responses-table .response');
    await live.waitFor();
    assert.equal((await live.locator('.response-col_status').innerText()).trim(), '200');
    const body = await live.locator('.microlight, pre').first().innerText();
    assert.match(body, /"status": "(ok|degraded)"/);
    assert.match(body, /"redis": \{\s*"reachable": true/);

    assert.deepEqual(elsewhere(requests, open_.origin), []);
    assert.ok(requests.includes(`${open_.origin}/api/v1/health`), 'the UI did not call health');
    assert.deepEqual(errors, []);
    await page.context().close();
  });

  it('with API keys set, sends the key entered in Authorize on a protected call', async () => {
    const { page, requests, errors } = await open(browser);
    await page.goto(`${keyed.origin}/docs`);
    const models = page.locator('#operations-Models-getModels');
    await models.waitFor();

    // Without the key: the UI shows the API's 401.
    await models.locator('.opblock-summary').click();
    await models.getByRole('button', { name: 'Try it out' }).click();
    await models.getByRole('button', { name: 'Execute' }).click();
    const status = models.locator('.live-responses-table .response .response-col_status');
    await status.waitFor();
    assert.equal((await status.innerText()).trim(), '401');

    await page.locator('.auth-wrapper .authorize').click();
    const dialog = page.locator('.modal-ux');
    await dialog.locator('input').fill(KEY);
    await dialog.getByRole('button', { name: 'Apply credentials' }).click();
    await dialog.getByRole('button', { name: 'Close' }).click();

    await models.getByRole('button', { name: 'Execute' }).click();
    await status.filter({ hasText: /^\s*200\s*$/ }).waitFor();
    const body = await models
      .locator('.live-responses-table .microlight, .live-responses-table pre')
      .first()
      .innerText();
    assert.match(body, /"embedding_model"/);
    assert.deepEqual(elsewhere(requests, keyed.origin), []);
    // The first Execute's 401 is logged by Chromium as a failed resource load; nothing else.
    assert.deepEqual(
      errors.filter((e) => !/status of 401/.test(e)),
      [],
    );
    await page.context().close();
  });
});
