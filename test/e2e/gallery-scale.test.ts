/**
 * Issue 8: 1:N answers at gallery scale, through the API with real photos. 600 people are
 * enrolled (400 lfw-dev identities with 2+ photos, 200 single-photo distractors); 200 people who
 * were never enrolled are the strangers. Per-comparison thresholds matched 39 % of strangers at
 * this size (bench:openset, balanced 0.665); gallery-aware ones must keep it near the 1 % target.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { b64, enrollAndWait, item, type ItemResultBody } from '../helpers/batches.js';
import { identities, photo } from '../helpers/faces.js';
import { json, postJson, startService, type TestService } from '../helpers/service.js';

interface Identified {
  threshold: number;
  gallery_size: number;
  decision?: {
    basis: string;
    target_fpir: number | null;
    gallery_size: number;
    expected_fnir: number | null;
  };
  faces: { is_match: boolean; candidates: { user_id: string; distance: number }[] }[];
}

const multi = identities(2);
const singles = identities(1).filter((i) => i.photos === 1);
const mated = multi.slice(0, 400).map((i) => i.name);
const distractors = singles.slice(0, 200).map((i) => i.name);
const strangers = [...multi.slice(400, 500), ...singles.slice(200, 300)].map((i) => i.name);

let svc: TestService;
let enrolled: ItemResultBody[];
const flagged = (r: ItemResultBody) =>
  r.outcome === 'DUPLICATE_PERSON' ||
  (Array.isArray(r.warnings) && r.warnings.some((w) => String(w).startsWith('DUPLICATE_PERSON')));

before(async () => {
  svc = await startService({ env: { POOL_SIZE: '2' } });
  const { items } = await enrollAndWait(svc.app, {
    items: [...mated, ...distractors].map((name) => item(name, photo(name, 1))),
  });
  enrolled = items;
});
after(async () => {
  await svc?.stop();
});

const identify = async (name: string, n: number): Promise<Identified> => {
  const res = await postJson(svc.app, '/api/v1/identify', { image: b64(photo(name, n)) });
  assert.equal(res.status, 200, await res.clone().text());
  return json<Identified>(res);
};

describe('1:N at gallery scale (600 enrolled, real photos)', () => {
  it('the duplicate gate flags at most 1 % of 600 distinct people', (t) => {
    const ok = enrolled.filter((r) => r.ok || r.outcome === 'DUPLICATE_PERSON');
    const hits = ok.filter(flagged);
    assert.ok(ok.length >= 500, `${ok.length} enrolled`);
    t.diagnostic(`${hits.length} of ${ok.length} distinct people flagged as duplicates`);
    assert.ok(hits.length <= ok.length * 0.01, `${hits.length} of ${ok.length} flagged as duplicates`);
  });

  it('a stranger is not matched at /identify’s default: at most 3 % of 200 strangers (41.5 % before)', async (t) => {
    let matched = 0;
    for (const name of strangers) {
      const body = await identify(name, 1);
      if (body.faces.some((f) => f.is_match)) matched++;
    }
    t.diagnostic(`${matched} of ${strangers.length} strangers matched`);
    assert.ok(matched <= strangers.length * 0.03, `${matched} of ${strangers.length} strangers matched`);
  });

  it('enrolled people are still found: at least 90 % of ~90 second photos match the right person', async (t) => {
    let right = 0;
    const ok = new Set(enrolled.filter((r) => r.ok).map((r) => r.ref));
    const probes = mated.filter((name, i) => i % 4 === 0 && ok.has(name));
    for (const name of probes) {
      const face = (await identify(name, 2)).faces[0];
      if (face?.is_match && face.candidates[0]?.user_id === name) right++;
    }
    t.diagnostic(`${right} of ${probes.length} enrolled people found`);
    assert.ok(right >= probes.length * 0.9, `${right} of ${probes.length} found`);
  });

  it('the answer says which threshold decided it, for which gallery size and target', async () => {
    const body = await identify(strangers[0] as string, 1);
    const enrolledCount = enrolled.filter((r) => r.ok).length;
    assert.equal(body.gallery_size, enrolledCount);
    assert.equal(body.decision?.basis, 'open_set');
    assert.equal(body.decision?.target_fpir, 0.01);
    assert.equal(body.decision?.gallery_size, enrolledCount);
    assert.ok(body.threshold < 0.59 && body.threshold > 0.45, `threshold ${body.threshold}`);
    const caller = await postJson(svc.app, '/api/v1/identify', {
      image: b64(photo(strangers[0] as string, 1)),
      threshold: 0.7,
    });
    const explicit = await json<Identified>(caller);
    assert.equal(explicit.threshold, 0.7);
    assert.equal(explicit.decision?.basis, 'caller');
  });

  it('another photo of an enrolled person under a new id is still flagged (at least 80 % of 50)', async (t) => {
    const again = mated.slice(0, 50);
    const { items } = await enrollAndWait(svc.app, {
      items: again.map((name) => item(`${name}_again`, photo(name, 2))),
    });
    const caught = items.filter((r) => flagged(r) && String(r.matched_user_id ?? r.warnings) !== '');
    t.diagnostic(`${caught.length} of 50 second photos under new ids flagged`);
    assert.ok(caught.length >= 40, `${caught.length} of 50 caught`);
  });
});
