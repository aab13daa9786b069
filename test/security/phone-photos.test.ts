/**
 * Issue 13.1: a photo over ~3.35 MB got 500 on every JSON photo endpoint (the base64 regex
 * overflowed V8's regexp stack above ~4.47 M characters). Real 4 and 7 MB phone JPEGs must work
 * on /embed, /identify, /enrollments, /jobs/embed and /attendance, within MAX_BODY_BYTES (15 MiB).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeBase64Image } from '../../src/shared/image-input.js';
import { b64, enrollAndWait, item, results, untilFinished, type Accepted } from '../helpers/batches.js';
import { phonePhoto } from '../helpers/phone-photo.js';
import { json, postJson, startService, type TestService } from '../helpers/service.js';

let svc: TestService;
let four: Buffer;
let seven: Buffer;

before(async () => {
  [four, seven] = await Promise.all([phonePhoto('Aaron_Peirsol', 2, 92), phonePhoto('Aaron_Peirsol', 3, 97)]);
  svc = await startService();
});
after(async () => {
  await svc?.stop();
});

async function accepted(path: string, body: unknown): Promise<Accepted> {
  const res = await postJson(svc.app, path, body);
  assert.equal(res.status, 202, await res.clone().text());
  return json<Accepted>(res);
}

describe('phone-sized photos (4-8 MB JPEGs) on every JSON photo endpoint', () => {
  it('the fixtures are the size of real 12 MP phone photos', () => {
    assert.ok(four.length > 3.9e6 && four.length < 5e6, `${four.length} bytes`);
    assert.ok(seven.length > 7e6 && seven.length < 8e6, `${seven.length} bytes`);
  });

  it('decodeBase64Image takes a 10 MB base64 string, padded or not, quickly and exactly', () => {
    const t0 = performance.now();
    assert.deepEqual(decodeBase64Image(b64(seven)), seven);
    assert.deepEqual(decodeBase64Image(seven.toString('base64url')), seven);
    assert.ok(performance.now() - t0 < 1000, 'linear, no backtracking');
  });

  it('/embed answers 200 with the face of a 7 MB photo', async () => {
    const res = await postJson(svc.app, '/api/v1/embed', { image: b64(seven) });
    assert.equal(res.status, 200, await res.clone().text());
    const body = await json<{ embedding: number[]; faces_detected: number }>(res);
    assert.equal(body.embedding.length, 512);
    assert.equal(body.faces_detected, 1);
  });

  it('/enrollments enrolls a person from a 4 MB and a 7 MB photo; /identify finds them from a 7 MB one', async () => {
    const { final, items } = await enrollAndWait(svc.app, {
      items: [{ ...item('phone_user', four), image: undefined, images: [b64(four), b64(seven)] }],
    });
    assert.equal(final.status, 'completed', JSON.stringify(items));
    assert.equal(items[0]?.outcome, 'ENROLLED');
    const res = await postJson(svc.app, '/api/v1/identify', { image: b64(seven) });
    assert.equal(res.status, 200, await res.clone().text());
    const body = await json<{ faces: { candidates: { user_id: string }[] }[] }>(res);
    assert.equal(body.faces[0]?.candidates[0]?.user_id, 'phone_user');
  });

  it('/jobs/embed and /attendance accept 7 MB photos and finish them', async () => {
    const embed = await accepted('/api/v1/jobs/embed', { items: [{ id: 'a', image: b64(seven) }] });
    const attendance = await accepted('/api/v1/attendance', {
      camera_id: 'phone-cam',
      frames: [{ image: b64(seven), captured_at: '2026-03-02T09:00:00Z' }],
    });
    for (const job of [embed, attendance]) {
      assert.equal((await untilFinished(svc.app, job.job_id)).at(-1)?.status, 'completed');
      const [r] = (await results(svc.app, job.job_id)).items;
      assert.equal(r?.ok, true, JSON.stringify(r));
    }
  });
});
