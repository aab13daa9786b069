import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadManifest } from '../../src/shared/model-manifest.js';
import { expectError, json, postJson, startService, type TestService } from '../helpers/service.js';

type Levels = { high_security: number; balanced: number; convenience: number };
interface Models {
  embedding_model: string;
  embedding_dim: number;
  models: Record<string, { file: string; sha256: string }>;
  thresholds: { cosine: Levels; euclidean_l2: Levels; euclidean: Levels };
  default_threshold: { level: string; cosine: number };
}
interface OpenApi {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, { requestBody?: unknown; responses: Record<string, unknown> }>>;
  components: {
    schemas: Record<
      string,
      { type?: string; properties?: Record<string, { type?: string }>; required?: string[] }
    >;
    securitySchemes: Record<string, { type: string; in: string; name: string }>;
  };
}

let svc: TestService;

before(async () => {
  svc = await startService({ worker: false });
});
after(async () => {
  await svc?.stop();
});

describe('GET /api/v1/models', () => {
  it('names the embedding model and its files as in the manifest', async () => {
    const res = await svc.app.request('/api/v1/models');
    assert.equal(res.status, 200);
    const body = await json<Models>(res);
    const manifest = loadManifest(svc.config.modelsDir);
    assert.equal(body.embedding_model, manifest.embedding_model_id);
    assert.equal(body.embedding_dim, 512);
    for (const name of ['detect', 'landmark', 'feature']) {
      assert.match(body.models[name]?.sha256 ?? '', /^[0-9a-f]{64}$/, name);
    }
  });

  it('orders the cosine thresholds high_security < balanced < convenience, balanced being the default', async () => {
    const { thresholds, default_threshold } = await json<Models>(await svc.app.request('/api/v1/models'));
    const c = thresholds.cosine;
    assert.ok(
      0 < c.high_security && c.high_security < c.balanced && c.balanced < c.convenience && c.convenience < 1,
    );
    assert.deepEqual(default_threshold, { level: 'balanced', cosine: c.balanced });
  });

  it('publishes the 1:N thresholds for the live gallery, and for any size asked about', async () => {
    type OpenSet = {
      gallery_size: number;
      decisions: Record<
        string,
        { basis: string; threshold: number; target_fpir: number; expected_fnir: number }
      >;
      at_target_fpir: { target_fpir: number; threshold: number; expected_fnir: number }[];
    };
    const live = (await json<{ open_set: OpenSet }>(await svc.app.request('/api/v1/models'))).open_set;
    assert.equal(live.decisions.identify?.basis, 'open_set');
    assert.equal(live.decisions.identify?.target_fpir, 0.01);
    const big = (
      await json<{ open_set: OpenSet }>(await svc.app.request('/api/v1/models?gallery_size=1000000'))
    ).open_set;
    assert.equal(big.gallery_size, 1_000_000);
    const t = big.decisions.identify?.threshold ?? 1;
    assert.ok(t < (live.decisions.identify?.threshold ?? 0), 'a million templates need a stricter threshold');
    assert.ok(t > 0.25 && t < 0.4, `threshold ${t} at 1M`);
    assert.deepEqual(
      big.at_target_fpir.map((p) => p.target_fpir),
      [0.1, 0.01, 0.001],
    );
    await expectError(await svc.app.request('/api/v1/models?gallery_size=-1'), 400, 'INVALID_REQUEST');
  });

  it('gives euclidean_l2 thresholds equivalent to the cosine ones on unit vectors (sqrt(2d))', async () => {
    const { thresholds } = await json<Models>(await svc.app.request('/api/v1/models'));
    for (const level of ['high_security', 'balanced', 'convenience'] as const) {
      const expected = Math.sqrt(2 * thresholds.cosine[level]);
      assert.ok(Math.abs(thresholds.euclidean_l2[level] - expected) < 1e-3, level);
    }
    const l2 = thresholds.euclidean_l2;
    assert.ok(l2.high_security < l2.balanced && l2.balanced < l2.convenience);
  });
});

describe('GET /openapi.json and /docs', () => {
  it('serves an OpenAPI 3.1 document with the embed and compare operations', async () => {
    const res = await svc.app.request('/openapi.json');
    assert.equal(res.status, 200);
    const doc = await json<OpenApi>(res);
    assert.match(doc.openapi, /^3\.1\.\d+$/);
    assert.equal(doc.info.version, svc.config.version);
    assert.ok(doc.paths['/api/v1/embed']?.post?.requestBody);
    assert.ok(doc.paths['/api/v1/compare']?.post?.requestBody);
    assert.ok(doc.paths['/api/v1/health']?.get);
    assert.deepEqual(doc.components.securitySchemes.apiKey, {
      type: 'apiKey',
      in: 'header',
      name: 'X-API-Key',
    });
  });

  it('describes EmbedRequest with a required string image, and every $ref resolves', async () => {
    const text = await (await svc.app.request('/openapi.json')).text();
    const doc = JSON.parse(text) as OpenApi;
    const embed = doc.components.schemas.EmbedRequest;
    assert.ok(embed, 'no EmbedRequest schema');
    assert.equal(embed.type, 'object');
    assert.equal(embed.properties?.image?.type, 'string');
    assert.ok(embed.required?.includes('image'));
    for (const [, ref] of text.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)) {
      assert.ok(doc.components.schemas[ref ?? ''], `dangling $ref ${ref}`);
    }
  });

  it('serves /docs as a self-contained HTML page listing the operations', async () => {
    const res = await svc.app.request('/docs');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    const html = await res.text();
    assert.match(html, /<html/i);
    assert.match(html, /POST \/api\/v1\/embed/);
    assert.match(html, /POST \/api\/v1\/compare/);
    assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+href="https?:/i, 'loads something from elsewhere');
  });
});

describe('GET /metrics', () => {
  const metrics = async () => {
    const res = await svc.app.request('/metrics');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    return res.text();
  };
  const routeLabels = (text: string) =>
    new Set([...text.matchAll(/^shelia_http_requests_total\{[^}]*route="([^"]*)"/gm)].map((m) => m[1]));

  it('counts requests by route pattern, method and status', async () => {
    await postJson(svc.app, '/api/v1/embed', {});
    await postJson(svc.app, '/api/v1/embed', {});
    const text = await metrics();
    assert.match(
      text,
      /^shelia_http_requests_total\{method="POST",route="\/api\/v1\/embed",status="400"\} 2$/m,
    );
    assert.match(text, /^shelia_http_request_duration_seconds_bucket\{[^}]*route="\/api\/v1\/embed"/m);
  });

  it('labels a parameterised route by its pattern, never the raw path', async () => {
    await expectError(await svc.app.request('/api/v1/jobs/no-such-job-4711'), 404, 'JOB_NOT_FOUND');
    const text = await metrics();
    assert.ok(routeLabels(text).has('/api/v1/jobs/:id'), [...routeLabels(text)].join(', '));
    assert.doesNotMatch(text, /no-such-job-4711/);
  });

  it('labels unknown paths with a bounded label, however many there are', async () => {
    const before = routeLabels(await metrics());
    for (let i = 0; i < 20; i++) {
      await expectError(await svc.app.request(`/api/v1/nope-${i}`), 404, 'NOT_FOUND');
      await expectError(await svc.app.request(`/random/${i}`), 404, 'NOT_FOUND');
    }
    const text = await metrics();
    assert.doesNotMatch(text, /nope-|\/random\//);
    const added = [...routeLabels(text)].filter((r) => !before.has(r));
    assert.ok(
      added.every((r) => r === 'unmatched'),
      `new labels: ${added.join(', ')}`,
    );
  });

  it('counts requests to unknown paths under route="unmatched"', async () => {
    const sample = /^shelia_http_requests_total\{method="GET",route="unmatched",status="404"\} (\d+)$/m;
    const count = async () => Number(sample.exec(await metrics())?.[1] ?? 0);
    const before = await count();
    for (let i = 0; i < 3; i++) await svc.app.request(`/favicon-${i}.ico`);
    assert.equal(await count(), before + 3);
  });
});

describe('unknown routes', () => {
  it('answer 404 NOT_FOUND with the error body, whatever the method', async () => {
    await expectError(await svc.app.request('/api/v1/nope'), 404, 'NOT_FOUND');
    await expectError(await postJson(svc.app, '/api/v2/embed', {}), 404, 'NOT_FOUND');
    await expectError(await svc.app.request('/'), 404, 'NOT_FOUND');
    // A known path with another method is 405 (test/api/http-conventions.test.ts).
    await expectError(await svc.app.request('/api/v1/compare'), 405, 'METHOD_NOT_ALLOWED');
  });
});
