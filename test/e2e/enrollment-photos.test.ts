/**
 * Issue 8 §4 end to end, with real photos: a clear subject with bystanders is enrolled (and
 * embedded under `face: "error"`) with `other_faces_ignored`, an ambiguous photo still is not;
 * each photo of a person gets its own outcome.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EmbedResponse } from '../../src/shared/schemas.js';
import {
  b64,
  BYSTANDER_PHOTOS,
  enrollAndWait,
  getUser,
  greyJpeg,
  item,
  lfw,
  notAnImage,
  sha,
  tinyFace,
  twoFaces,
  twoFacesCentred,
  withBystander,
  type ItemResultBody,
} from '../helpers/batches.js';
import { expectError, json, postJson, startService, type TestService } from '../helpers/service.js';

let svc: TestService;
before(async () => {
  svc = await startService({ env: { POOL_SIZE: '2', DUPLICATE_POLICY: 'reject' } });
});
after(() => svc?.stop());

const runBatch = async (body: unknown) => (await enrollAndWait(svc.app, body)).items;
const person = (user_id: string, images: (Buffer | string)[]) => ({
  user_id,
  name: user_id,
  images: images.map((i) => (typeof i === 'string' ? i : b64(i))),
});
const embed = (image: Buffer) => postJson(svc.app, '/api/v1/embed', { image: b64(image), face: 'error' });

describe('a photo with one clear subject and bystanders', () => {
  it('enrolls the centred face of a composite with a 0.57x face in a corner, other_faces_ignored 1', async () => {
    const [r] = await runBatch({ items: [item('bystander-composite', await withBystander())] });
    assert.equal(r?.outcome, 'ENROLLED', JSON.stringify(r));
    assert.deepEqual([r.templates, r.other_faces_ignored, r.photos_rejected], [1, 1, 0]);
    assert.deepEqual(r.photos, [{ index: 0, outcome: 'ENROLLED', other_faces_ignored: 1 }]);
  });

  it('enrolls lfw-dev photos the old rule refused, and the enrolled face is the named person', async () => {
    const items = await runBatch({ items: BYSTANDER_PHOTOS.map((name) => item(name, lfw(name))) });
    for (const [i, name] of BYSTANDER_PHOTOS.entries()) {
      const r = items[i] as ItemResultBody;
      assert.equal(r.outcome, 'ENROLLED', `${name}: ${JSON.stringify(r)}`);
      assert.ok(Number(r.other_faces_ignored) >= 1, `${name}: ${JSON.stringify(r)}`);
      // Their second photo (no bystander) is identified as them: the subject was enrolled.
      const res = await postJson(svc.app, '/api/v1/identify', { image: b64(lfw(name, 2)) });
      const body = await json<{ faces: { candidates: { user_id: string; distance: number }[] }[] }>(res);
      const best = body.faces[0]?.candidates[0];
      assert.equal(best?.user_id, name, `${name}'s second photo: ${JSON.stringify(body.faces[0])}`);
      assert.ok((best?.distance ?? 1) < 0.5, `${name} at ${best?.distance}`);
    }
  });

  it('still refuses two similar faces MULTIPLE_FACES: side by side, or one central with a 0.94x one', async () => {
    const items = await runBatch({
      items: [item('two-side', await twoFaces()), item('two-central', await twoFacesCentred())],
    });
    assert.deepEqual(
      items.map((r) => [r.outcome, r.faces_detected, r.reason]),
      [
        ['MULTIPLE_FACES', 2, 'largest_not_central'],
        ['MULTIPLE_FACES', 2, 'similar_size'],
      ],
    );
  });

  it("/embed with face 'error' answers 200 with other_faces_ignored for a clear subject", async () => {
    for (const photo of [await withBystander(), lfw('Christina_Sawaya')]) {
      const res = await embed(photo);
      assert.equal(res.status, 200, await res.clone().text());
      const body = EmbedResponse.parse(await res.json());
      assert.deepEqual([body.faces_detected, body.other_faces_ignored], [2, 1]);
      assert.ok(body.quality.face_size > 100, `the large face, not the bystander: ${body.quality.face_size}`);
    }
    const one = EmbedResponse.parse(await (await embed(lfw('Aaron_Peirsol'))).json());
    assert.deepEqual([one.faces_detected, one.other_faces_ignored], [1, undefined]);
  });

  it("/embed with face 'error' still answers 422 MULTIPLE_FACES for two similar faces", async () => {
    for (const photo of [await twoFaces(), await twoFacesCentred()]) {
      const body = await expectError(await embed(photo), 422, 'MULTIPLE_FACES');
      assert.equal(body.faces_detected, 2);
    }
  });
});

describe('a person with several photos: each photo gets its own outcome', () => {
  it('enrolls the good photo and reports the grey one, with 1 template stored', async () => {
    const good = lfw('Ai_Sugiyama', 1);
    const body = { items: [person('photos-mixed', [good, await greyJpeg()])] };
    const [r] = await runBatch(body);
    assert.equal(r?.outcome, 'ENROLLED', JSON.stringify(r));
    assert.deepEqual([r.ok, r.templates, r.photos_rejected], [true, 1, 1]);
    assert.deepEqual(r.photos, [
      { index: 0, outcome: 'ENROLLED' },
      {
        index: 1,
        outcome: 'NO_FACE_DETECTED',
        error: 'no face was detected in the photo',
        faces_detected: 0,
      },
    ]);
    const stored = () => getUser(svc.app, 'photos-mixed').then((u) => u.templates.map((t) => t.photo_sha256));
    assert.deepEqual(await stored(), [sha(good)]);
    // The same item again: UPDATED, and the photo is not enrolled twice.
    const [again] = await runBatch(body);
    assert.deepEqual([again?.outcome, again?.templates, again?.photos_rejected], ['UPDATED', 1, 1]);
    assert.deepEqual(await stored(), [sha(good)]);
  });

  it('gives every photo its own outcome: MULTIPLE_FACES, LOW_QUALITY with its gate, INVALID_IMAGE', async () => {
    const images = [
      await twoFacesCentred(),
      lfw('Abdullah_Gul', 2),
      await tinyFace(),
      notAnImage,
      'not base64!',
    ];
    const [r] = await runBatch({ items: [person('photos-four', images)] });
    assert.equal(r?.outcome, 'ENROLLED', JSON.stringify(r));
    assert.deepEqual([r.templates, r.photos_rejected], [1, 4]);
    const photos = r.photos as { index: number; outcome: string; [k: string]: unknown }[];
    assert.deepEqual(
      photos.map((p) => [p.index, p.outcome]),
      [
        [0, 'MULTIPLE_FACES'],
        [1, 'ENROLLED'],
        [2, 'LOW_QUALITY'],
        [3, 'INVALID_IMAGE'],
        [4, 'INVALID_IMAGE'],
      ],
    );
    assert.deepEqual([photos[0]?.faces_detected, photos[0]?.reason], [2, 'similar_size']);
    assert.deepEqual([photos[2]?.gate, photos[2]?.min], ['face_too_small', 60]);
    // Not base64 is refused at intake; the person's other photos still go to the worker.
    assert.equal(photos[4]?.field, 'items.0.images.4');
  });

  it('refuses a person none of whose photos passes with the first photo’s error, and lists them all', async () => {
    const [r] = await runBatch({ items: [person('photos-none', [await twoFaces(), await greyJpeg()])] });
    assert.deepEqual(
      [r?.outcome, r?.ok, r?.faces_detected, r?.reason],
      ['MULTIPLE_FACES', false, 2, 'largest_not_central'],
    );
    assert.deepEqual(
      (r?.photos as { outcome: string }[]).map((p) => p.outcome),
      ['MULTIPLE_FACES', 'NO_FACE_DETECTED'],
    );
    await expectError(await svc.app.request('/api/v1/users/photos-none'), 404, 'USER_NOT_FOUND');
  });

  it('keeps a one-photo refusal exactly as before: no photos list', async () => {
    const [r] = await runBatch({ items: [item('photos-one-grey', await greyJpeg())] });
    assert.deepEqual(Object.keys(r ?? {}).sort(), [
      'error',
      'faces_detected',
      'finished_at',
      'index',
      'ok',
      'outcome',
      'ref',
    ]);
  });
});
