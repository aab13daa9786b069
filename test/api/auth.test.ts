import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Hono } from 'hono';
import { startApiServer, type ApiServer } from '../../src/api/server.js';
import { loadConfig } from '../../src/shared/config.js';
import { photo } from '../helpers/faces.js';
import {
  expectError,
  logger,
  startService,
  trackRedisClients,
  type Env,
  type TestService,
} from '../helpers/service.js';

const KEYS = ['key-one-5d1f0c', 'key-two-9a7e33'];
const HASHED_KEY = 'only-its-hash-is-configured-44b2';
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

let svc: TestService;
let app: Hono;

before(async () => {
  svc = await startService({
    env: { API_KEYS: ` ${KEYS.join(' , ')} `, API_KEY_HASHES: sha256(HASHED_KEY).toUpperCase() },
  });
  app = svc.app;
});
after(async () => {
  await svc?.stop();
});

const embedBody = () => JSON.stringify({ image: photo('Aaron_Peirsol', 1).toString('base64') });
const compareBody = () =>
  JSON.stringify({ query_embedding: [1, 0], reference_embeddings: [{ id: 'a', embedding: [0.6, 0.8] }] });

/** The protected calls, each with a request that succeeds given a valid key. */
const protectedCalls: [string, () => RequestInit][] = [
  ['/api/v1/embed', () => ({ method: 'POST', body: embedBody() })],
  ['/api/v1/compare', () => ({ method: 'POST', body: compareBody() })],
  ['/api/v1/models', () => ({ method: 'GET' })],
];

function call(path: string, init: RequestInit, key?: string): Promise<Response> {
  const headers: Env = { 'content-type': 'application/json' };
  if (key !== undefined) headers['x-api-key'] = key;
  return Promise.resolve(app.request(path, { ...init, headers }));
}

describe('X-API-Key with API_KEYS / API_KEY_HASHES set', () => {
  for (const [path, init] of protectedCalls) {
    it(`answers 401 UNAUTHORIZED on ${path} without a key, with an empty key and with a wrong key`, async () => {
      await expectError(await call(path, init()), 401, 'UNAUTHORIZED');
      await expectError(await call(path, init(), ''), 401, 'UNAUTHORIZED');
      await expectError(await call(path, init(), 'key-one-5d1f0'), 401, 'UNAUTHORIZED');
      await expectError(await call(path, init(), `${KEYS[0]}x`), 401, 'UNAUTHORIZED');
      await expectError(await call(path, init(), sha256(HASHED_KEY)), 401, 'UNAUTHORIZED');
    });

    it(`answers 200 on ${path} with each configured key, plain or hashed`, async () => {
      for (const key of [...KEYS, HASHED_KEY]) {
        const res = await call(path, init(), key);
        assert.equal(res.status, 200, `${key}: ${await res.text()}`);
      }
    });
  }

  it('leaves health, metrics, the OpenAPI document and the docs open', async () => {
    for (const path of ['/api/v1/health', '/metrics', '/openapi.json', '/docs']) {
      const res = await call(path, { method: 'GET' });
      assert.equal(res.status, 200, path);
    }
  });

  it('does not let a path that merely mentions health past the key check', async () => {
    for (const path of [
      '/api/v1/health/../models',
      '/api/v1/models?next=/api/v1/health',
      '/api/v1/health/../embed',
      '/api/v1/models#/api/v1/health',
    ]) {
      const res = await call(path, { method: 'GET' });
      assert.ok(res.status === 401 || res.status === 404, `${path}: ${res.status}`);
      assert.notEqual(res.status, 200, path);
    }
  });

  it('checks the key before looking at the body', async () => {
    await expectError(await call('/api/v1/embed', { method: 'POST', body: '{nope' }), 401, 'UNAUTHORIZED');
  });
});

describe('startApiServer', () => {
  const baseEnv = (): Env => ({ ...svc.env, PORT: '0', API_KEYS: '', API_KEY_HASHES: '' });

  it('refuses to listen beyond loopback without an API key', async () => {
    for (const host of ['0.0.0.0', '::', '192.0.2.10']) {
      const config = loadConfig({ ...baseEnv(), HOST: host });
      await assert.rejects(startApiServer(config, logger), /API key|API_KEYS/, host);
    }
  });

  it('serves over HTTP on loopback, and asks for the key when one is set', async () => {
    const config = loadConfig({ ...baseEnv(), HOST: '127.0.0.1', API_KEYS: KEYS[0] ?? '' });
    const [server, leftovers] = await trackRedisClients<ApiServer>(() => startApiServer(config, logger));
    try {
      const base = `http://127.0.0.1:${server.port}`;
      await expectError(await fetch(`${base}/api/v1/models`), 401, 'UNAUTHORIZED');
      const ok = await fetch(`${base}/api/v1/models`, { headers: { 'X-API-Key': KEYS[0] ?? '' } });
      assert.equal(ok.status, 200);
      const res = await fetch(`${base}/api/v1/embed`, {
        method: 'POST',
        headers: { 'X-API-Key': KEYS[0] ?? '', 'content-type': 'application/json' },
        body: embedBody(),
      });
      assert.equal(res.status, 200, await res.clone().text());
      assert.equal(((await res.json()) as { embedding: unknown[] }).embedding.length, 512);
    } finally {
      await server.close();
      await leftovers();
    }
  });

  it('listens on loopback without a key, and closes every connection it opened', async () => {
    const config = loadConfig({ ...baseEnv(), HOST: '127.0.0.1' });
    const [server, leftovers] = await trackRedisClients<ApiServer>(() => startApiServer(config, logger));
    let left: number;
    try {
      const res = await fetch(`http://127.0.0.1:${server.port}/api/v1/models`);
      assert.equal(res.status, 200);
    } finally {
      await server.close();
      left = await leftovers();
    }
    assert.equal(left, 0, 'Redis connections left open by ApiServer.close()');
  });
});
