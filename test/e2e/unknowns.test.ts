/**
 * Unknown people end to end (issue 8 §6), real worker, models and store: LFW faces pasted into
 * 1920x1080 frames. One enrolled person (A) and strangers S1, S2, X, S5 seen by two cameras in
 * three batches: the strangers are grouped into unknown persons (the same stranger one id across
 * batches and cameras, different strangers different ids), found again by a photo, X enrolled
 * from its unknown person (its records relabelled, a new frame of X a match), every crop of an
 * erased user deleted, and old unknowns expired (the clock injected).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SightingsSearchResult } from '../../src/shared/jobs/index.js';
import { loadManifest, loadOpenSet } from '../../src/shared/model-manifest.js';
import { expireUnknowns, groupUnknowns } from '../../src/shared/unknowns.js';
import type { AttendanceRecord, UnknownPerson } from '../../src/shared/store/index.js';
import { b64, firstIdentities, results, untilFinished, enrollAndWait } from '../helpers/batches.js';
import { identities, modelsDir, photo } from '../helpers/faces.js';
import { attribute, cameraFrame, sceneTime, type FrameFace } from '../helpers/frames.js';
import { json, postJson, startService, waitFor, type TestService } from '../helpers/service.js';
import type { Detection } from './attendance-evidence.js';

const enrollable = new Set(firstIdentities(300).flatMap((i) => (i.expected === 'ENROLLED' ? [i.name] : [])));
const A = identities(3).find((i) => enrollable.has(i.name))?.name ?? '';
const [S1 = '', S2 = '', S5 = ''] = identities(1)
  .filter((i) => i.photos === 1)
  .slice(10, 13)
  .map((i) => i.name);
/** Never enrolled by the test until it is enrolled from its unknown person. */
const X = identities(2).filter((i) => i.name !== A && enrollable.has(i.name))[5]?.name ?? '';
const face = (name: string, faceHeight: number, n = 1): FrameFace => ({ name, n, faceHeight });

let svc: TestService;
/** Every primary detection: who it is, where its crop is, which batch. */
type Seen = { name: string; attendance_id: string; kind: string; crop: string; job: string };
const seen: Seen[] = [];
const jobs: string[] = [];
let beforeThird = 0;

async function batch(camera: string, frames: { faces: FrameFace[]; at: number }[], seed: number) {
  const shots = await Promise.all(frames.map((f, i) => cameraFrame(f.faces, seed + i)));
  const body = {
    camera_id: camera,
    frames: shots.map((s, i) => ({ image: b64(s.jpeg), captured_at: sceneTime(frames[i]?.at ?? 0) })),
  };
  const res = await postJson(svc.app, '/api/v1/attendance', body);
  assert.equal(res.status, 202, await res.clone().text());
  const { job_id } = await json<{ job_id: string }>(res);
  await untilFinished(svc.app, job_id, 180_000);
  for (const item of (await results(svc.app, job_id, 100)).items) {
    const dets = (item.detections ?? []) as Detection[];
    attribute(shots[item.index]?.faces ?? [], dets).forEach((d, i) => {
      if (d.primary && d.face)
        seen.push({
          name: d.face.name,
          attendance_id: d.attendance_id,
          kind: d.kind,
          crop: `thumbs/${job_id}/${item.index}-${i}.jpg`,
          job: job_id,
        });
    });
  }
  jobs.push(job_id);
  // Grouped by the serial job the batch's parent queued: every unknown record gets its id, and
  // (written last) every id its person.
  const grouped = async () => {
    const ids = (await records('kind=unknown')).map((r) => r.unknown_id);
    const persons = await Promise.all(ids.map((id) => svc.store.getUnknownPerson(id ?? '')));
    return persons.every((p) => p !== undefined);
  };
  await waitFor(grouped, 'grouping', 60_000);
  return job_id;
}

async function records(query: string): Promise<AttendanceRecord[]> {
  const res = await svc.app.request(`/api/v1/attendance?limit=1000&${query}`);
  assert.equal(res.status, 200);
  return (await json<{ items: AttendanceRecord[] }>(res)).items;
}
const unknownIdOf = async (s: Seen) => (await svc.store.getAttendance(s.attendance_id))?.unknown_id ?? null;
const idsOf = async (name: string) =>
  new Set(await Promise.all(seen.filter((s) => s.name === name).map(unknownIdOf)));
const idOf = async (name: string) => [...(await idsOf(name))][0] ?? '';

before(async () => {
  svc = await startService();
  await enrollAndWait(svc.app, { items: [{ user_id: A, name: A, image: b64(photo(A, 1)) }] });
  await batch(
    'cam-1',
    [
      { faces: [face(A, 130, 2), face(S1, 130), face(S2, 100)], at: 0 },
      { faces: [face(S1, 90), face(A, 90, 2)], at: 25_000 },
    ],
    500,
  );
  await batch(
    'cam-2',
    [
      { faces: [face(S2, 120), face(X, 120), face(S1, 100)], at: 600_000 },
      { faces: [face(X, 90)], at: 625_000 },
    ],
    600,
  );
});

after(async () => {
  await svc?.stop();
});

describe('unknown people: grouped, listed, searched, enrolled, erased, expired', () => {
  it('groups one stranger into one unknown_id across batches and cameras, different strangers apart', async () => {
    const groups = new Map<string, Set<string>>();
    for (const name of [S1, S2, X]) {
      const ids = await idsOf(name);
      assert.equal(ids.size, 1, `${name}: ${[...ids].join(',')}`);
      for (const id of ids) groups.set(id ?? '', (groups.get(id ?? '') ?? new Set()).add(name));
    }
    // Purity: every unknown person holds one stranger's faces.
    assert.equal(groups.size, 3);
    for (const names of groups.values()) assert.equal(names.size, 1);
    assert.ok(seen.filter((s) => s.name === A).every((s) => s.kind === 'match'));
  });

  it('grouping a batch again changes nothing (idempotent)', async () => {
    const openSet = loadOpenSet(modelsDir, loadManifest(modelsDir));
    const beforeIds = await Promise.all(seen.map(unknownIdOf));
    for (const job of jobs) {
      const again = await groupUnknowns({ config: svc.config, openSet, store: svc.store }, job);
      assert.equal(again.grouped, 0);
    }
    assert.deepEqual(await Promise.all(seen.map(unknownIdOf)), beforeIds);
  });

  it('lists unknown persons with sightings, cameras, times and a best crop served as JPEG', async () => {
    const page = await json<{ items: (UnknownPerson & { best_photo_url: string })[] }>(
      await svc.app.request('/api/v1/unknowns?limit=100'),
    );
    const s1 = page.items.find((p) => p.sightings === 3);
    assert.equal(s1?.unknown_id, await idOf(S1));
    assert.equal(s1?.best_photo_url, `/api/v1/attendance/${s1?.best_attendance_id}/photo`);
    const one = await json<UnknownPerson & { records: unknown[] }>(
      await svc.app.request(`/api/v1/unknowns/${await idOf(S1)}`),
    );
    assert.deepEqual([one.sightings, one.cameras, one.records.length], [3, ['cam-1', 'cam-2'], 3]);
    assert.equal(one.first_seen, sceneTime(0));
    assert.equal(one.last_seen, sceneTime(600_000));
    const cam1 = await json<{ items: UnknownPerson[] }>(
      await svc.app.request('/api/v1/unknowns?camera_id=cam-1'),
    );
    assert.deepEqual(cam1.items.map((p) => p.unknown_id).sort(), [await idOf(S1), await idOf(S2)].sort());
    const crop = await svc.app.request(`/api/v1/attendance/${one.best_attendance_id}/photo`);
    assert.equal(crop.status, 200);
    assert.equal(crop.headers.get('content-type'), 'image/jpeg');
    assert.equal((await svc.app.request('/api/v1/unknowns/unk_nope')).status, 404);
  });

  it('sightings search finds an enrolled person’s records and an unknown’s', async () => {
    const search = async (name: string, n: number) => {
      const res = await postJson(svc.app, '/api/v1/sightings/search', { image: b64(photo(name, n)) });
      assert.equal(res.status, 200, await res.clone().text());
      return json<SightingsSearchResult>(res);
    };
    const a = (await search(A, 3)).faces.find((f) => f.user);
    assert.equal(a?.user?.user_id, A);
    // Both sightings of A (25 s apart, one camera) are one record.
    assert.deepEqual(
      a?.user?.records.map((r) => r.sightings),
      [2],
    );
    const s2 = (await search(S2, 1)).faces[0]?.unknowns[0];
    assert.deepEqual([s2?.unknown_id, s2?.is_match, s2?.records.length], [await idOf(S2), true, 2]);
  });

  it('enrolls an unknown person: records relabelled, a new frame of them is a match', async () => {
    const id = await idOf(X);
    const res = await postJson(svc.app, `/api/v1/unknowns/${id}/enroll`, { user_id: 'x-1', name: 'Mr X' });
    assert.equal(res.status, 200, await res.clone().text());
    const out = await json<{ templates: number; records_relabelled: number; outcome: string }>(res);
    assert.deepEqual([out.outcome, out.templates, out.records_relabelled], ['ENROLLED', 2, 2]);
    const mine = await records('user_id=x-1');
    assert.deepEqual(
      mine.map((r) => [r.kind, r.name]),
      [
        ['match', 'Mr X'],
        ['match', 'Mr X'],
      ],
    );
    assert.equal((await svc.app.request(`/api/v1/unknowns/${id}`)).status, 404);
    beforeThird = Date.now();
    await new Promise((r) => setTimeout(r, 20));
    await batch('cam-1', [{ faces: [face(X, 100), face(S5, 100)], at: 1_200_000 }], 700);
    const x = seen.filter((s) => s.name === X).at(-1);
    assert.equal(x?.kind, 'match');
    assert.equal((await svc.store.getAttendance(x?.attendance_id ?? ''))?.user_id, 'x-1');
  });

  it('erasure deletes the crop of every sighting of the user, not only the best', async () => {
    const crops = async (name: string) =>
      Promise.all(
        seen.filter((s) => s.name === name).map(async (s) => (await svc.blobs.get(s.crop)) !== undefined),
      );
    assert.deepEqual(await crops(A), [true, true]);
    assert.deepEqual(await crops(X), [true, true, true]);
    assert.equal((await svc.app.request(`/api/v1/users/${A}`, { method: 'DELETE' })).status, 200);
    assert.equal((await svc.app.request('/api/v1/users/x-1', { method: 'DELETE' })).status, 200);
    assert.deepEqual(await crops(A), [false, false]);
    assert.deepEqual(await crops(X), [false, false, false]);
    assert.deepEqual(await crops(S1), [true, true, true]);
  });

  it('expiry deletes unknowns stored before the retention, their crops and emptied persons', async () => {
    // The clock injected: as if it were a retention period after the third batch began.
    const out = await expireUnknowns(svc, beforeThird + svc.config.unknownRetentionMs);
    assert.deepEqual([out.records, out.persons_removed], [5, 2]);
    const persons = (await json<{ items: UnknownPerson[] }>(await svc.app.request('/api/v1/unknowns'))).items;
    assert.deepEqual(
      persons.map((p) => p.unknown_id),
      [await idOf(S5)],
    );
    for (const s of seen.filter((v) => v.name === S1 || v.name === S2)) {
      assert.equal(await svc.blobs.get(s.crop), undefined);
      assert.equal(await svc.store.getAttendance(s.attendance_id), undefined);
    }
    assert.equal((await records('kind=unknown')).length, 1);
  });
});
