import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { loadManifest } from '../../src/shared/model-manifest.js';
import { EmbedResponse } from '../../src/shared/schemas.js';
import { composite, photo } from '../helpers/faces.js';
import { expectError, json, postJson, startService, type TestService } from '../helpers/service.js';

/** scipy.spatial.distance.cosine, as the guide's clients compute it. */
function scipyCosine(a: number[], b: number[]): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  a.forEach((x, i) => {
    const y = b[i] ?? NaN;
    ab += x * y;
    aa += x * x;
    bb += y * y;
  });
  return 1 - ab / (Math.sqrt(aa) * Math.sqrt(bb));
}

const b64 = (buf: Buffer) => buf.toString('base64');
const grey = (width: number, height: number) =>
  sharp({ create: { width, height, channels: 3, background: { r: 128, g: 128, b: 128 } } })
    .jpeg()
    .toBuffer();

const MAX_PIXELS = 250_000;
const MAX_BODY = 150_000;

let svc: TestService;

before(async () => {
  svc = await startService({
    env: { MAX_IMAGE_PIXELS: String(MAX_PIXELS), MAX_BODY_BYTES: String(MAX_BODY) },
  });
});
after(async () => {
  await svc?.stop();
});

async function embed(image: string, face?: string): Promise<Response> {
  return postJson(svc.app, '/api/v1/embed', face === undefined ? { image } : { image, face });
}

async function embedding(image: Buffer): Promise<number[]> {
  const res = await embed(b64(image));
  assert.equal(res.status, 200, await res.clone().text());
  return EmbedResponse.parse(await res.json()).embedding;
}

describe('POST /api/v1/embed with a photo of one face', () => {
  it('answers 200 with the guide fields: a 512-float unit embedding, detection_score, bbox, 5 landmarks', async () => {
    const res = await embed(b64(photo('Aaron_Peirsol', 1)));
    assert.equal(res.status, 200);
    const body = EmbedResponse.parse(await res.json());
    assert.equal(body.embedding.length, 512);
    assert.ok(body.embedding.every(Number.isFinite));
    const norm = Math.hypot(...body.embedding);
    assert.ok(Math.abs(norm - 1) < 1e-3, `norm ${norm}`);
    assert.ok(body.detection_score > 0.8 && body.detection_score <= 1, `score ${body.detection_score}`);
    assert.equal(body.faces_detected, 1);
    assert.equal(body.landmarks.length, 5);
    // LFW: the face sits in the middle of the 250x250 photo.
    const cx = body.bbox.x + body.bbox.width / 2;
    const cy = body.bbox.y + body.bbox.height / 2;
    assert.ok(Math.abs(cx - 125) < 30 && Math.abs(cy - 125) < 30, `bbox ${JSON.stringify(body.bbox)}`);
    assert.ok(body.bbox.width > 50 && body.bbox.width < 200);
    assert.equal(body.model, loadManifest(svc.config.modelsDir).embedding_model_id);
    assert.ok(body.quality.face_size > 0 && body.quality.sharpness >= 0);
    assert.ok(body.processing_ms > 0);
  });

  it('accepts a data-URL prefix, line-wrapped base64 and base64url, with the same embedding', async () => {
    const image = photo('Aaron_Peirsol', 2);
    const plain = await embedding(image);
    const variants = [
      `data:image/jpeg;base64,${b64(image)}`,
      b64(image).replace(/.{76}/g, '$&\r\n'),
      image.toString('base64url'),
    ];
    for (const variant of variants) {
      const res = await embed(variant);
      assert.equal(res.status, 200, variant.slice(0, 30));
      assert.ok(scipyCosine(EmbedResponse.parse(await res.json()).embedding, plain) < 1e-6);
    }
  });

  it('answers concurrent requests each with the embedding of its own photo', async () => {
    const photos = [1, 2, 3, 4].flatMap((n) => [photo('Aaron_Peirsol', n), photo('Abdullah_Gul', n)]);
    const together = await Promise.all(photos.map((p) => embedding(p)));
    for (const [i, p] of photos.entries()) {
      assert.ok(scipyCosine(together[i] ?? [], await embedding(p)) < 1e-6, `photo ${i} got another's result`);
    }
  });

  it("answers 200 for face 'error' when there is exactly one face", async () => {
    const res = await embed(b64(photo('Abdullah_Gul', 1)), 'error');
    assert.equal(res.status, 200);
    assert.equal(EmbedResponse.parse(await res.json()).faces_detected, 1);
  });

  it('separates people as Pattern A does: client-side cosine distance vs the balanced threshold', async () => {
    const models = await json<{ thresholds: { cosine: { balanced: number } } }>(
      await svc.app.request('/api/v1/models'),
    );
    const threshold = models.thresholds.cosine.balanced;
    const enrolled = await embedding(photo('Aaron_Peirsol', 1));
    const live = await embedding(photo('Aaron_Peirsol', 3));
    const stranger = await embedding(photo('Abdullah_Gul', 1));
    const genuine = scipyCosine(live, enrolled);
    const impostor = scipyCosine(stranger, enrolled);
    assert.ok(genuine <= threshold, `same person at distance ${genuine} > ${threshold}`);
    assert.ok(impostor > threshold, `different people at distance ${impostor} <= ${threshold}`);
  });
});

describe('POST /api/v1/embed with several faces', () => {
  const twoFaces = () =>
    composite({
      width: 500,
      height: 250,
      faces: [
        { name: 'Aaron_Peirsol', n: 1, left: 0, top: 0, side: 250 },
        { name: 'Abdullah_Gul', n: 1, left: 250, top: 0, side: 250 },
      ],
    });
  // A large face on the left, a smaller one in the middle of the frame (700x300, centre 350,150).
  const bigLeftSmallCentre = () =>
    composite({
      width: 700,
      height: 300,
      faces: [
        { name: 'Aaron_Peirsol', n: 1, left: 0, top: 25, side: 250 },
        { name: 'Abdullah_Gul', n: 1, left: 265, top: 65, side: 170 },
      ],
    });
  const centreX = (b: EmbedResponse) => b.bbox.x + b.bbox.width / 2;

  it("answers 422 MULTIPLE_FACES with faces_detected 2 for face 'error' on two people", async () => {
    const body = await expectError(await embed(b64(await twoFaces()), 'error'), 422, 'MULTIPLE_FACES');
    assert.equal(body.faces_detected, 2);
  });

  it('uses the largest face by default and reports faces_detected 2', async () => {
    const res = await embed(b64(await bigLeftSmallCentre()));
    assert.equal(res.status, 200);
    const body = EmbedResponse.parse(await res.json());
    assert.equal(body.faces_detected, 2);
    assert.ok(Math.abs(centreX(body) - 125) < 40, `bbox ${JSON.stringify(body.bbox)}`);
  });

  it("uses the face nearest the centre for face 'center'", async () => {
    const res = await embed(b64(await bigLeftSmallCentre()), 'center');
    assert.equal(res.status, 200);
    const body = EmbedResponse.parse(await res.json());
    assert.equal(body.faces_detected, 2);
    assert.ok(Math.abs(centreX(body) - 350) < 40, `bbox ${JSON.stringify(body.bbox)}`);
    const gul = await embedding(photo('Abdullah_Gul', 1));
    assert.ok(scipyCosine(body.embedding, gul) < 0.5, 'the centre face is not the centre person');
  });

  it('answers 400 INVALID_REQUEST naming the field for an unknown face policy', async () => {
    const body = await expectError(
      await embed(b64(photo('Aaron_Peirsol', 1)), 'all'),
      400,
      'INVALID_REQUEST',
    );
    assert.equal(body.field, 'face');
  });
});

describe('POST /api/v1/embed refusals', () => {
  it('answers 422 NO_FACE_DETECTED with faces_detected 0 for a plain grey image', async () => {
    const body = await expectError(await embed(b64(await grey(250, 250))), 422, 'NO_FACE_DETECTED');
    assert.equal(body.faces_detected, 0);
  });

  it('answers 400 INVALID_IMAGE for a string that is not base64', async () => {
    const body = await expectError(await embed('this is *not* base64!'), 400, 'INVALID_IMAGE');
    assert.equal(body.field, 'image');
  });

  it('answers 400 INVALID_IMAGE for valid base64 of something that is not an image', async () => {
    const text = Buffer.from('hello, this is a plain text file and not a photo at all\n'.repeat(4));
    await expectError(await embed(b64(text)), 400, 'INVALID_IMAGE');
  });

  it('answers 400 INVALID_IMAGE for a truncated JPEG (right magic bytes, broken data)', async () => {
    const truncated = photo('Aaron_Peirsol', 1).subarray(0, 300);
    await expectError(await embed(b64(truncated)), 400, 'INVALID_IMAGE');
  });

  it('answers 413 IMAGE_TOO_LARGE for a photo over MAX_IMAGE_PIXELS, with its size', async () => {
    const body = await expectError(await embed(b64(await grey(600, 600))), 413, 'IMAGE_TOO_LARGE');
    assert.equal(body.width, 600);
    assert.equal(body.height, 600);
    assert.equal(body.max_pixels, MAX_PIXELS);
  });

  it('answers 413 PAYLOAD_TOO_LARGE for a body over MAX_BODY_BYTES, declared or streamed', async () => {
    const big = JSON.stringify({ image: 'A'.repeat(MAX_BODY + 10) });
    const declared = await postJson(svc.app, '/api/v1/embed', big, { 'content-length': String(big.length) });
    assert.equal((await expectError(declared, 413, 'PAYLOAD_TOO_LARGE')).max_bytes, MAX_BODY);
    await expectError(await postJson(svc.app, '/api/v1/embed', big), 413, 'PAYLOAD_TOO_LARGE');
  });

  it('answers 400 INVALID_REQUEST for malformed JSON', async () => {
    await expectError(await postJson(svc.app, '/api/v1/embed', '{"image": "abc'), 400, 'INVALID_REQUEST');
  });

  it("answers 400 INVALID_REQUEST with field 'image' when image is missing, empty or not a string", async () => {
    for (const body of [{}, { image: '' }, { image: 42 }, { photo: 'abc' }]) {
      const err = await expectError(await postJson(svc.app, '/api/v1/embed', body), 400, 'INVALID_REQUEST');
      assert.equal(err.field, 'image', JSON.stringify(body));
    }
  });

  it('answers 400 INVALID_REQUEST for a JSON body that is not an object', async () => {
    for (const body of ['null', '[]', '"abc"']) {
      await expectError(await postJson(svc.app, '/api/v1/embed', body), 400, 'INVALID_REQUEST');
    }
  });

  it('answers 405 METHOD_NOT_ALLOWED with Allow: POST for GET on the embed path', async () => {
    const res = await svc.app.request('/api/v1/embed');
    await expectError(res, 405, 'METHOD_NOT_ALLOWED');
    assert.equal(res.headers.get('allow'), 'POST');
  });
});

describe('what an embed leaves in Redis', () => {
  /** Every value stored under the prefix, whatever its type, as one string. */
  async function dump(): Promise<string> {
    const out: string[] = [];
    for (const key of await svc.keys()) {
      const type = await svc.redis.type(key);
      if (type === 'string') out.push((await svc.redis.get(key)) ?? '');
      else if (type === 'hash') out.push(JSON.stringify(await svc.redis.hgetall(key)));
      else if (type === 'list') out.push(JSON.stringify(await svc.redis.lrange(key, 0, -1)));
      else if (type === 'set') out.push(JSON.stringify(await svc.redis.smembers(key)));
      else if (type === 'zset') out.push(JSON.stringify(await svc.redis.zrange(key, '0', '-1')));
      else if (type === 'stream') out.push(JSON.stringify(await svc.redis.xrange(key, '-', '+')));
    }
    return out.join('\n');
  }

  it('keeps neither the photo nor a job hash once the answer is sent', async () => {
    const image = b64(photo('Abdullah_Gul', 2));
    const res = await embed(image);
    assert.equal(res.status, 200);
    const stored = await dump();
    assert.ok(!stored.includes(image.slice(1000, 1100)), 'the photo is still in Redis');
    const jobHashes = (await svc.keys()).filter((k) => /:inference:\d+$/.test(k));
    assert.deepEqual(jobHashes, []);
  });

  it('keeps no copy of the embedding once the answer is sent (the guide: stateless, no data storage)', async () => {
    const res = await embed(b64(photo('Abdullah_Gul', 4)));
    const { embedding: e } = EmbedResponse.parse(await res.json());
    const needle = JSON.stringify(e.slice(100, 104)).slice(1, -1);
    assert.ok(!(await dump()).includes(needle), 'the embedding is still in Redis');
  });

  it('keeps neither the photo nor a job hash after a refusal from the worker', async () => {
    // Deterministic noise: no face, and bytes that cannot turn up in Redis by chance.
    let s = 42;
    const pixels = Buffer.from(
      Array.from({ length: 200 * 200 * 3 }, () => (s = (s * 1103515245 + 12345) % 2 ** 31) % 256),
    );
    const image = b64(
      await sharp(pixels, { raw: { width: 200, height: 200, channels: 3 } })
        .jpeg()
        .toBuffer(),
    );
    await expectError(await embed(image), 422, 'NO_FACE_DETECTED');
    assert.ok(!(await dump()).includes(image.slice(1000, 1100)), 'the photo is still in Redis');
    assert.deepEqual(
      (await svc.keys()).filter((k) => /:inference:\d+$/.test(k)),
      [],
    );
  });
});
