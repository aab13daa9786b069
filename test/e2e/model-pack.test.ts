/**
 * Templates of another model are never compared (identify, attendance, the duplicate gate),
 * and the re-embed job brings a kept batch back to the active pack. Real Redis, SQLite,
 * models and LFW photos, through the HTTP app and a worker.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { galleryStreamKey, publishGalleryChange } from '../../src/shared/gallery-stream.js';
import type { AttendanceRecord } from '../../src/shared/store/index.js';
import { queueReembed } from '../../src/worker/reembed.js';
import { b64, enrollAndWait, item, lfw, untilFinished, type Accepted } from '../helpers/batches.js';
import { MANIFEST } from '../helpers/pack.js';
import { json, postJson, startService, type TestService } from '../helpers/service.js';

const OLD = 'old-pack@1';
const ACTIVE = MANIFEST.embedding_model_id;
type Identified = { faces: { candidates: { user_id: string; distance: number }[]; is_match: boolean }[] };

let svc: TestService;
let batchId = '';

async function identify(image: Buffer): Promise<Identified> {
  const res = await postJson(svc.app, '/api/v1/identify', { image: b64(image), top_k: 5 });
  assert.equal(res.status, 200, await res.clone().text());
  return json<Identified>(res);
}
const candidates = async (image: Buffer) =>
  (await identify(image)).faces[0]?.candidates.map((c) => c.user_id) ?? [];

/** Rewrites every template of `userId` as if another pack had made it (the same vectors). */
async function makeOld(userId: string): Promise<void> {
  const user = await svc.store.getUser(userId);
  assert.ok(user);
  const vectors = await svc.store.templateEmbeddings(user.templates.map((t) => t.template_id));
  for (const t of user.templates) {
    const { user_id, name, group, metadata } = user;
    await svc.store.enroll(
      { user_id, name, group, metadata },
      { ...t, model: OLD, embedding: vectors.get(t.template_id) as Float32Array },
      'add',
    );
  }
  await publishGalleryChange(svc.redis, galleryStreamKey(svc.config), userId);
  // The worker re-reads the change stream at most every 250 ms before a query.
  await new Promise((r) => setTimeout(r, 300));
}

before(async () => {
  svc = await startService({ env: { KEEP_PHOTOS: 'true', POOL_SIZE: '1' } });
  const run = await enrollAndWait(svc.app, {
    items: [item('aaron', lfw('Aaron_Peirsol', 1)), item('gul', lfw('Abdullah_Gul', 1))],
  });
  assert.deepEqual(
    run.items.map((i) => i.outcome),
    ['ENROLLED', 'ENROLLED'],
  );
  batchId = run.accepted.job_id;
});
after(async () => {
  await svc?.stop();
});

void describe('a template of another model', () => {
  let original: Float32Array;

  void it('is found while it is of the active model', async () => {
    const user = await svc.store.getUser('aaron');
    assert.equal(user?.templates[0]?.model, ACTIVE);
    original = (await svc.store.templateEmbeddings([user?.templates[0]?.template_id ?? ''])).values().next()
      .value as Float32Array;
    assert.equal((await candidates(lfw('Aaron_Peirsol', 2)))[0], 'aaron');
  });

  void it('is never compared by /identify, attendance or the duplicate gate', async () => {
    await makeOld('aaron');
    // The same vector is still in the store, nearest by far: it is not in the index.
    assert.ok(!(await candidates(lfw('Aaron_Peirsol', 2))).includes('aaron'));
    assert.ok((await candidates(lfw('Abdullah_Gul', 2))).includes('gul'), 'the active model still matches');

    const res = await postJson(svc.app, '/api/v1/attendance', {
      camera_id: 'cam-model',
      threshold: MANIFEST.thresholds.cosine.convenience,
      frames: [{ image: b64(lfw('Aaron_Peirsol', 2)), captured_at: new Date().toISOString() }],
    });
    assert.equal(res.status, 202, await res.clone().text());
    await untilFinished(svc.app, (await json<Accepted>(res)).job_id, 60_000);
    const page = await json<{ items: AttendanceRecord[] }>(
      await svc.app.request('/api/v1/attendance?camera_id=cam-model&limit=100'),
    );
    assert.equal(page.items.length, 1);
    assert.equal(page.items[0]?.kind, 'unknown');
    assert.equal(page.items[0]?.user_id ?? null, null);

    // Aaron's first photo again, under a new id: no duplicate, the old template is not compared.
    const again = await enrollAndWait(svc.app, { items: [item('aaron-again', lfw('Aaron_Peirsol', 1))] });
    assert.equal(again.items[0]?.outcome, 'ENROLLED');
    assert.equal(again.items[0]?.duplicates, undefined);
    await svc.app.request('/api/v1/users/aaron-again', { method: 'DELETE' });
  });

  void it('is re-embedded with the active pack from the kept photos, then matched again', async () => {
    const { result } = await queueReembed(svc.config, batchId, 60_000);
    assert.deepEqual(
      {
        reembedded: result?.reembedded,
        current: result?.current,
        users: result?.users,
        model: result?.model,
      },
      { reembedded: 1, current: 1, users: 2, model: ACTIVE },
    );
    const user = await svc.store.getUser('aaron');
    assert.deepEqual(
      user?.templates.map((t) => t.model),
      [ACTIVE],
    );
    // The same pipeline on the same photo: the very embedding it was enrolled with.
    const now = (await svc.store.templateEmbeddings([user?.templates[0]?.template_id ?? ''])).values().next()
      .value as Float32Array;
    assert.deepEqual(now, original);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await candidates(lfw('Aaron_Peirsol', 2)))[0], 'aaron');
    // Run again: nothing left to do.
    assert.equal((await queueReembed(svc.config, batchId, 60_000)).result?.current, 2);
  });
});
