import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CompareResponse, EmbedResponse } from '../../src/shared/schemas.js';
import { photo } from '../helpers/faces.js';
import { expectError, json, postJson, startService, type TestService } from '../helpers/service.js';

interface Thresholds {
  cosine: { balanced: number; high_security: number };
  euclidean_l2: { balanced: number };
  euclidean: { balanced: number };
}

let svc: TestService;
let thresholds: Thresholds;
/** Real embeddings: three photos of Aaron Peirsol, two of Abdullah Gul. */
const emb: Record<'aaron1' | 'aaron2' | 'aaron3' | 'gul' | 'gul3', number[]> = {
  aaron1: [],
  aaron2: [],
  aaron3: [],
  gul: [],
  gul3: [],
};

before(async () => {
  svc = await startService();
  const sources = {
    aaron1: photo('Aaron_Peirsol', 1),
    aaron2: photo('Aaron_Peirsol', 2),
    aaron3: photo('Aaron_Peirsol', 3),
    gul: photo('Abdullah_Gul', 1),
    gul3: photo('Abdullah_Gul', 3),
  };
  for (const [key, image] of Object.entries(sources) as [keyof typeof emb, Buffer][]) {
    const res = await postJson(svc.app, '/api/v1/embed', { image: image.toString('base64') });
    assert.equal(res.status, 200);
    emb[key] = EmbedResponse.parse(await res.json()).embedding;
  }
  thresholds = (await json<{ thresholds: Thresholds }>(await svc.app.request('/api/v1/models'))).thresholds;
});
after(async () => {
  await svc?.stop();
});

const compare = (body: unknown) => postJson(svc.app, '/api/v1/compare', body);

async function compareOk(body: unknown): Promise<CompareResponse> {
  const res = await compare(body);
  assert.equal(res.status, 200, await res.clone().text());
  return CompareResponse.parse(await res.json());
}

const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * (b[i] ?? NaN), 0);
const scipyCosine = (a: number[], b: number[]) => 1 - dot(a, b) / Math.sqrt(dot(a, a) * dot(b, b));
const scaled = (v: number[], k: number) => v.map((x) => x * k);

describe('POST /api/v1/compare on real embeddings (guide Pattern B)', () => {
  it('never compares embeddings of two models: another query model is 422, another reference model is skipped', async () => {
    const models = await json<{ embedding_model: string }>(await svc.app.request('/api/v1/models'));
    const active = models.embedding_model;
    // The nearest reference by far (the same person), but made by another model: left out.
    const body = await compareOk({
      query_embedding: emb.aaron3,
      model: active,
      reference_embeddings: [
        { id: 'aaron-other-model', embedding: emb.aaron1, model: 'other-model@1' },
        { id: 'gul', embedding: emb.gul, model: active },
        { id: 'gul3', embedding: emb.gul3 },
      ],
    });
    assert.deepEqual(body.matches.map((m) => m.id).sort(), ['gul', 'gul3']);
    assert.equal(body.skipped_other_model, 1);
    assert.equal(body.is_match, false);
    // Without any model field, as the integration guide sends it: nothing is skipped.
    const plain = await compareOk({
      query_embedding: emb.aaron3,
      reference_embeddings: [{ id: 'a', embedding: emb.aaron1 }],
    });
    assert.equal(plain.skipped_other_model, undefined);

    const refused = await compare({
      query_embedding: emb.aaron3,
      model: 'other-model@1',
      reference_embeddings: [{ id: 'a', embedding: emb.aaron1, model: 'other-model@1' }],
    });
    const err = await expectError(refused, 422, 'MODEL_MISMATCH');
    assert.equal(err.field, 'model');
    const none = await compare({
      query_embedding: emb.aaron3,
      reference_embeddings: [{ id: 'a', embedding: emb.aaron1, model: 'other-model@1' }],
    });
    assert.equal((await expectError(none, 422, 'MODEL_MISMATCH')).field, 'reference_embeddings');
  });

  it('ranks references nearest first, best_match on the same person, is_match at the balanced threshold', async () => {
    const body = await compareOk({
      query_embedding: emb.aaron3,
      reference_embeddings: [
        { id: 'gul', embedding: emb.gul },
        { id: 'aaron', embedding: emb.aaron1 },
        { id: 7, embedding: emb.gul3 },
      ],
      distance_metric: 'cosine',
    });
    assert.equal(body.metric, 'cosine');
    assert.equal(body.threshold, thresholds.cosine.balanced);
    assert.equal(body.best_match.id, 'aaron');
    assert.equal(body.is_match, true);
    assert.deepEqual(body.best_match, body.matches[0]);
    assert.equal(body.matches.length, 3);
    const distances = body.matches.map((m) => m.distance);
    assert.deepEqual(
      distances,
      [...distances].sort((a, b) => a - b),
    );
    assert.ok(
      body.matches.some((m) => m.id === 7),
      'a numeric id comes back as a number',
    );
    for (const m of body.matches) {
      const ref = m.id === 'gul' ? emb.gul : m.id === 'aaron' ? emb.aaron1 : emb.gul3;
      assert.ok(Math.abs(m.distance - scipyCosine(emb.aaron3, ref)) < 1e-9, `distance of ${m.id}`);
      assert.ok(Math.abs(m.similarity - (1 - m.distance)) < 1e-12);
    }
  });

  it('defaults to cosine and says no match for a stranger', async () => {
    const body = await compareOk({
      query_embedding: emb.gul,
      reference_embeddings: [
        { id: 'a1', embedding: emb.aaron1 },
        { id: 'a2', embedding: emb.aaron2 },
      ],
    });
    assert.equal(body.metric, 'cosine');
    assert.equal(body.is_match, false);
    assert.ok(body.best_match.distance > thresholds.cosine.balanced);
  });

  it('uses and echoes an explicit threshold', async () => {
    const refs = [{ id: 'a1', embedding: emb.aaron1 }];
    const strict = await compareOk({
      query_embedding: emb.aaron2,
      reference_embeddings: refs,
      threshold: 0.01,
    });
    assert.equal(strict.threshold, 0.01);
    assert.equal(strict.is_match, false);
    const loose = await compareOk({ query_embedding: emb.gul, reference_embeddings: refs, threshold: 1.5 });
    assert.equal(loose.is_match, true);
  });

  it('computes euclidean_l2 on normalised vectors, so scaling a reference changes nothing', async () => {
    const body = await compareOk({
      query_embedding: emb.aaron2,
      reference_embeddings: [
        { id: 'same', embedding: scaled(emb.aaron1, 3) },
        { id: 'gul', embedding: emb.gul },
      ],
      distance_metric: 'euclidean_l2',
    });
    assert.equal(body.threshold, thresholds.euclidean_l2.balanced);
    assert.equal(body.best_match.id, 'same');
    const expected = Math.sqrt(2 * scipyCosine(emb.aaron2, emb.aaron1));
    assert.ok(Math.abs(body.best_match.distance - expected) < 1e-6);
    assert.ok(Math.abs(body.best_match.similarity - 1 / (1 + body.best_match.distance)) < 1e-12);
    assert.equal(body.is_match, body.best_match.distance <= thresholds.euclidean_l2.balanced);
  });

  it('computes plain euclidean on the raw vectors', async () => {
    const ref = scaled(emb.aaron1, 2);
    const body = await compareOk({
      query_embedding: emb.aaron1,
      reference_embeddings: [{ id: 'double', embedding: ref }],
      distance_metric: 'euclidean',
    });
    assert.equal(body.threshold, thresholds.euclidean.balanced);
    // |2a - a| = |a| = 1 for a unit vector.
    assert.ok(Math.abs(body.best_match.distance - 1) < 1e-3, String(body.best_match.distance));
  });

  it('returns top_k matches (default 10), always including the best', async () => {
    const refs = Array.from({ length: 12 }, (_, i) => ({
      id: `r${i}`,
      embedding: i === 11 ? emb.aaron1 : emb.gul,
    }));
    const one = await compareOk({ query_embedding: emb.aaron2, reference_embeddings: refs, top_k: 1 });
    assert.equal(one.matches.length, 1);
    assert.equal(one.best_match.id, 'r11');
    const dflt = await compareOk({ query_embedding: emb.aaron2, reference_embeddings: refs });
    assert.equal(dflt.matches.length, 10);
    const all = await compareOk({ query_embedding: emb.aaron2, reference_embeddings: refs, top_k: 50 });
    assert.equal(all.matches.length, 12);
  });
});

describe('POST /api/v1/compare refusals', () => {
  const q = () => emb.aaron1;

  it('answers 400 DIMENSION_MISMATCH naming the reference and both sizes', async () => {
    const res = await compare({
      query_embedding: q(),
      reference_embeddings: [
        { id: 'ok', embedding: emb.gul },
        { id: 'short', embedding: emb.gul.slice(0, 511) },
      ],
    });
    const body = await expectError(res, 400, 'DIMENSION_MISMATCH');
    assert.equal(body.field, 'reference_embeddings.1.embedding');
    assert.equal(body.expected, 512);
    assert.equal(body.got, 511);
  });

  it('answers 400 EMPTY_REFERENCES for an empty reference list', async () => {
    await expectError(
      await compare({ query_embedding: q(), reference_embeddings: [] }),
      400,
      'EMPTY_REFERENCES',
    );
  });

  it('answers 400 INVALID_EMBEDDING for NaN or Infinity tokens (what Python json.dumps writes)', async () => {
    for (const token of ['NaN', 'Infinity', '-Infinity']) {
      const text = `{"query_embedding": [0.1, ${token}, 0.2], "reference_embeddings": [{"id": 1, "embedding": [1, 2, 3]}]}`;
      await expectError(await postJson(svc.app, '/api/v1/compare', text), 400, 'INVALID_EMBEDDING');
    }
  });

  it('answers 400 INVALID_EMBEDDING for a number too large for a double (1e999)', async () => {
    const text = `{"query_embedding": [0.1, 1e999], "reference_embeddings": [{"id": 1, "embedding": [1, 2]}]}`;
    await expectError(await postJson(svc.app, '/api/v1/compare', text), 400, 'INVALID_EMBEDDING');
  });

  it('answers 400 INVALID_EMBEDDING naming the value when a vector holds a string', async () => {
    const bad = [...emb.gul];
    (bad as unknown[])[3] = '0.5';
    const res = await compare({ query_embedding: q(), reference_embeddings: [{ id: 'x', embedding: bad }] });
    const body = await expectError(res, 400, 'INVALID_EMBEDDING');
    assert.equal(body.field, 'reference_embeddings.0.embedding.3');
  });

  it('answers 400 INVALID_EMBEDDING for an all-zero query or reference', async () => {
    const zeros = new Array<number>(512).fill(0);
    const zq = await compare({ query_embedding: zeros, reference_embeddings: [{ id: 1, embedding: q() }] });
    assert.equal((await expectError(zq, 400, 'INVALID_EMBEDDING')).field, 'query_embedding');
    const zr = await compare({
      query_embedding: q(),
      reference_embeddings: [
        { id: 1, embedding: emb.gul },
        { id: 2, embedding: zeros },
      ],
      distance_metric: 'euclidean_l2',
    });
    assert.equal((await expectError(zr, 400, 'INVALID_EMBEDDING')).field, 'reference_embeddings.1.embedding');
  });

  it('answers 400 INVALID_EMBEDDING for an empty query vector', async () => {
    const res = await compare({ query_embedding: [], reference_embeddings: [{ id: 1, embedding: q() }] });
    await expectError(res, 400, 'INVALID_EMBEDDING');
  });

  it('answers 413 TOO_MANY_REFERENCES over MAX_REFERENCES, with the limit', async () => {
    const app = svc.appWith({ MAX_REFERENCES: '3' });
    const refs = (n: number) => Array.from({ length: n }, (_, i) => ({ id: i, embedding: emb.gul }));
    const ok = await postJson(app, '/api/v1/compare', {
      query_embedding: q(),
      reference_embeddings: refs(3),
    });
    assert.equal(ok.status, 200);
    const res = await postJson(app, '/api/v1/compare', {
      query_embedding: q(),
      reference_embeddings: refs(4),
    });
    assert.equal((await expectError(res, 413, 'TOO_MANY_REFERENCES')).max_references, 3);
  });

  it('answers 400 INVALID_REQUEST for an unknown metric, a negative threshold, top_k 0 or a missing id', async () => {
    const refs = [{ id: 1, embedding: emb.gul }];
    const cases: [unknown, string][] = [
      [{ query_embedding: q(), reference_embeddings: refs, distance_metric: 'manhattan' }, 'distance_metric'],
      [{ query_embedding: q(), reference_embeddings: refs, threshold: -0.1 }, 'threshold'],
      [{ query_embedding: q(), reference_embeddings: refs, top_k: 0 }, 'top_k'],
      [{ query_embedding: q(), reference_embeddings: [{ embedding: emb.gul }] }, 'reference_embeddings.0.id'],
      [{ query_embedding: q() }, 'reference_embeddings'],
    ];
    for (const [body, field] of cases) {
      const err = await expectError(await compare(body), 400, 'INVALID_REQUEST');
      assert.equal(err.field, field);
    }
  });

  it('answers 400 INVALID_REQUEST for malformed JSON', async () => {
    await expectError(
      await postJson(svc.app, '/api/v1/compare', '{"query_embedding": [1,'),
      400,
      'INVALID_REQUEST',
    );
  });

  it('answers 413 PAYLOAD_TOO_LARGE over MAX_COMPARE_BODY_BYTES', async () => {
    const app = svc.appWith({ MAX_COMPARE_BODY_BYTES: '10000' });
    const res = await postJson(app, '/api/v1/compare', {
      query_embedding: q(),
      reference_embeddings: [{ id: 1, embedding: emb.gul }],
    });
    assert.equal((await expectError(res, 413, 'PAYLOAD_TOO_LARGE')).max_bytes, 10000);
  });
});
