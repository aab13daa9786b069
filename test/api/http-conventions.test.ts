/**
 * The small HTTP conventions: a known path with a method it does not answer is 405 with `Allow`
 * (an unknown path stays 404), and a page cursor the API did not give out is 400 naming
 * `cursor` (read leniently, an edited cursor silently restarted or skipped pages).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { expectError, startService, type TestService } from '../helpers/service.js';

let svc: TestService;
before(async () => {
  svc = await startService({ worker: false });
});
after(async () => {
  await svc?.stop();
});

describe('405 for a method a path does not answer', () => {
  for (const [method, path, allow] of [
    ['DELETE', '/api/v1/jobs/job_0123', 'GET, HEAD'],
    ['PUT', '/api/v1/users/emp-1', 'DELETE, GET, HEAD'],
    ['GET', '/api/v1/embed', 'POST'],
    ['PATCH', '/api/v1/health', 'GET, HEAD'],
  ] as const) {
    it(`${method} ${path}: 405, Allow: ${allow}`, async () => {
      const res = await svc.app.request(path, { method });
      const body = await expectError(res, 405, 'METHOD_NOT_ALLOWED');
      assert.equal(res.headers.get('allow'), allow);
      assert.match(String(body.error), new RegExp(`${method} is not allowed`));
    });
  }

  it('a route of the right method that finds nothing stays 404 (an unknown docs asset)', async () => {
    await expectError(await svc.app.request('/docs/assets/package.json'), 404, 'NOT_FOUND');
  });

  it('an unknown path is still 404 NOT_FOUND, whatever the method', async () => {
    await expectError(await svc.app.request('/api/v1/nothing-here'), 404, 'NOT_FOUND');
    await expectError(await svc.app.request('/api/v1/users/a/b/c', { method: 'POST' }), 404, 'NOT_FOUND');
  });
});

describe('400 for a malformed page cursor', () => {
  for (const path of ['/api/v1/users', '/api/v1/attendance', '/api/v1/unknowns']) {
    it(`${path}?cursor=<edited>: 400 naming cursor`, async () => {
      for (const cursor of ['not*base64', 'abc=', '%%%']) {
        const res = await svc.app.request(`${path}?cursor=${encodeURIComponent(cursor)}`);
        const body = await expectError(res, 400, 'INVALID_REQUEST');
        assert.equal(body.field, 'cursor', cursor);
      }
    });
  }

  it('a cursor the API gave out pages on', async () => {
    const res = await svc.app.request('/api/v1/users?limit=1');
    assert.equal(res.status, 200);
  });
});

describe('415 for a body of a type the route does not read', () => {
  const json = ['/embed', '/compare', '/identify', '/jobs/embed', '/sightings/search', '/webhook-endpoints'];
  const jsonOrMultipart = ['/enrollments', '/attendance'];
  for (const path of [...json, ...jsonOrMultipart]) {
    it(`POST /api/v1${path} with text/plain: 415 naming what it reads, before the body is read`, async () => {
      const res = await svc.app.request(`/api/v1${path}`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain;charset=UTF-8' },
        body: '{}',
      });
      const body = await expectError(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
      assert.match(String(body.error), /text\/plain/);
      assert.match(String(body.error), /application\/json/);
      if (jsonOrMultipart.includes(path)) assert.match(String(body.error), /multipart\/form-data/);
    });
  }

  it('a form-encoded body (curl -d without -H) is 415 on a JSON-only route', async () => {
    const res = await svc.app.request('/api/v1/embed', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: '{"image":"x"}',
    });
    await expectError(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  for (const type of [
    'application/json',
    'application/json; charset=utf-8',
    'Application/JSON',
    'application/problem+json',
    undefined,
  ]) {
    it(`${type ?? 'no Content-Type'} is read as JSON (an empty object: 400 for the field, not 415)`, async () => {
      const headers: Record<string, string> = type ? { 'content-type': type } : {};
      // Bytes, not a string: a string body makes the Request itself add text/plain.
      const body = new TextEncoder().encode('{}');
      const res = await svc.app.request('/api/v1/embed', { method: 'POST', headers, body });
      const error = await expectError(res, 400, 'INVALID_REQUEST');
      assert.equal(error.field, 'image');
    });
  }
});

describe('the reference documents 415 where it can happen', () => {
  it('every operation with a JSON body lists 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    const doc = (await (await svc.app.request('/openapi.json')).json()) as {
      paths: Record<string, Record<string, { requestBody?: unknown; responses: Record<string, unknown> }>>;
    };
    const withBody = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops)
        .filter(([, op]) => op.requestBody !== undefined)
        .map(([method, op]) => ({ at: `${method} ${path}`, op })),
    );
    assert.ok(withBody.length >= 9, `${withBody.length} operations with a body`);
    for (const { at, op } of withBody) assert.ok(op.responses['415'], `${at} documents 415`);
  });
});
