import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Sighting, Store, UnknownPerson } from '../../../../src/shared/store/store.js';

const T0 = Date.parse('2026-03-02T09:00:00.000Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();
const WINDOW = 5 * 60_000;

/** Deterministic, distinct per seed. */
const embedding = (seed: number) =>
  Float32Array.from({ length: 512 }, (_, i) => Math.sin((i + 1) * seed * 0.731) / 22.6);

function unknown(id: string, minutes: number, over: Partial<Sighting> = {}): Sighting {
  return {
    sighting_id: id,
    kind: 'unknown',
    user_id: null,
    name: null,
    group: null,
    camera_id: 'cam-1',
    captured_at: at(minutes),
    similarity: 0.1,
    distance: 0.9,
    margin: null,
    threshold: 0.59,
    confirm_threshold: 0.59,
    strong_threshold: 0.5,
    bbox: { x: 1, y: 2, width: 80, height: 90 },
    thumbnail: `thumbs/${id.replace(/:/g, '-')}.jpg`,
    embedding: embedding(minutes + 1),
    job_id: 'job-1',
    ...over,
  };
}

const person = (id: string, first: string, cameras: string[]): UnknownPerson => ({
  unknown_id: id,
  sightings: 1,
  first_seen: first,
  last_seen: first,
  cameras,
  best_attendance_id: `a-${id}`,
  best_thumbnail: null,
});

/**
 * Issue 8 §6, part of the store conformance suite (every backend): unknown sightings with
 * their embeddings in (captured_at, sighting_id) order and their filters, unknown_id on the
 * records, relabelling, unknown persons, deleting records with every crop, and erasure of
 * every sighting's crop.
 */
export function unknownsConformance(current: () => Store): void {
  void describe('unknown people', () => {
    const put = (s: Sighting) => current().recordSighting(s, WINDOW);

    void it('unknownSightings: (captured_at, sighting_id) order, exact embeddings, job / grouped filters', async () => {
      await put(unknown('j2:0:1', 2, { job_id: 'j2' }));
      await put(unknown('j1:0:1', 1));
      await put(unknown('j1:0:0', 1));
      await put({ ...unknown('m', 1), kind: 'match', user_id: 'u1', name: 'U', embedding: null });
      const all = await current().unknownSightings({});
      assert.deepEqual(
        all.map((s) => s.sighting_id),
        ['j1:0:0', 'j1:0:1', 'j2:0:1'],
      );
      const first = all[0];
      assert.ok(first);
      assert.deepEqual(Buffer.from(first.embedding.buffer), Buffer.from(embedding(2).buffer));
      assert.deepEqual([first.face_size, first.camera_id, first.unknown_id], [90, 'cam-1', null]);
      assert.equal((await current().unknownSightings({ job_id: 'j2' })).length, 1);
      await current().setUnknownId(first.attendance_id, 'unk_a');
      assert.deepEqual(
        (await current().unknownSightings({ grouped: true })).map((s) => [s.sighting_id, s.unknown_id]),
        [['j1:0:0', 'unk_a']],
      );
      assert.equal((await current().unknownSightings({ grouped: false })).length, 2);
      assert.equal((await current().unknownSightings({ unknown_id: 'unk_a' })).length, 1);
      const record = await current().getAttendance(first.attendance_id);
      assert.equal(record?.unknown_id, 'unk_a');
      assert.equal(await current().getAttendance('nope'), undefined);
    });

    void it('recorded_before selects by when the store wrote a record, not captured_at', async () => {
      await put(unknown('old:0:0', 0));
      const before = new Date(Date.now() - 60_000).toISOString();
      const after = new Date(Date.now() + 60_000).toISOString();
      assert.equal((await current().unknownSightings({ recorded_before: before })).length, 0);
      assert.equal((await current().unknownSightings({ recorded_before: after })).length, 1);
    });

    void it('relabelUnknown turns a person’s records into match records of the user, embeddings dropped', async () => {
      await put(unknown('r:0:0', 0));
      await put(unknown('r:1:0', 1));
      await put(unknown('r:2:0', 2));
      const [a, b] = await current().unknownSightings({});
      assert.ok(a && b);
      await current().setUnknownId(a.attendance_id, 'unk_r');
      await current().setUnknownId(b.attendance_id, 'unk_r');
      const n = await current().relabelUnknown('unk_r', { user_id: 'u9', name: 'Nine', group: 'g' });
      assert.equal(n, 2);
      const mine = (await current().listAttendance({ user_id: 'u9', limit: 10 })).items;
      assert.deepEqual(
        mine.map((r) => [r.kind, r.name, r.group, r.embedding, r.unknown_id]),
        [
          ['match', 'Nine', 'g', null, 'unk_r'],
          ['match', 'Nine', 'g', null, 'unk_r'],
        ],
      );
      assert.equal((await current().unknownSightings({})).length, 1);
    });

    void it('unknown persons: upsert, get, delete, list by (first_seen, id) with camera filter and cursor', async () => {
      const s = current();
      await s.putUnknownPerson(person('unk_b', at(2), ['cam-1', 'cam-2']));
      await s.putUnknownPerson(person('unk_a', at(2), ['cam-2']));
      await s.putUnknownPerson(person('unk_c', at(1), ['cam-1']));
      await s.putUnknownPerson({ ...person('unk_c', at(0), ['cam-1']), sightings: 4 });
      assert.deepEqual(await s.getUnknownPerson('unk_c'), {
        ...person('unk_c', at(0), ['cam-1']),
        sightings: 4,
      });
      const first = await s.listUnknownPersons({ limit: 2 });
      assert.deepEqual(
        first.items.map((p) => p.unknown_id),
        ['unk_c', 'unk_a'],
      );
      assert.ok(first.next_cursor);
      const rest = await s.listUnknownPersons({ limit: 2, cursor: first.next_cursor });
      assert.deepEqual([rest.items.map((p) => p.unknown_id), rest.next_cursor], [['unk_b'], null]);
      const cam1 = await s.listUnknownPersons({ limit: 10, camera_id: 'cam-1' });
      assert.deepEqual(
        cam1.items.map((p) => p.unknown_id),
        ['unk_c', 'unk_b'],
      );
      await s.deleteUnknownPerson('unk_c');
      assert.equal(await s.getUnknownPerson('unk_c'), undefined);
    });

    void it('deleteAttendance deletes the records and returns every crop they held', async () => {
      const m = { kind: 'match' as const, user_id: 'u1', name: 'U', embedding: null };
      const { attendance_id: match } = await put({ ...unknown('d:0:0', 0), ...m, similarity: 0.5 });
      await put({ ...unknown('d:1:0', 1), ...m, similarity: 0.9 });
      const { attendance_id: other } = await put(unknown('d:2:0', 2));
      const keys = await current().deleteAttendance([match, other]);
      assert.deepEqual(keys.sort(), ['thumbs/d-0-0.jpg', 'thumbs/d-1-0.jpg', 'thumbs/d-2-0.jpg']);
      assert.equal((await current().listAttendance({ limit: 10 })).items.length, 0);
      // The sightings went too: recording one again starts a new record.
      await put(unknown('d:2:0', 2));
      assert.equal((await current().listAttendance({ limit: 10 })).items.length, 1);
    });

    void it('eraseAttendancePhotos returns the crop of every sighting of the user, once', async () => {
      const m = { kind: 'match' as const, user_id: 'u1', name: 'U', embedding: null };
      await put({ ...unknown('e:0:0', 0), ...m, similarity: 0.5 });
      await put({ ...unknown('e:1:0', 1), ...m, similarity: 0.9 });
      await put({ ...unknown('e:9:0', 9), ...m, similarity: 0.7 });
      const keys = await current().eraseAttendancePhotos('u1');
      assert.deepEqual(keys.sort(), ['thumbs/e-0-0.jpg', 'thumbs/e-1-0.jpg', 'thumbs/e-9-0.jpg']);
      assert.deepEqual(await current().eraseAttendancePhotos('u1'), []);
    });
  });
}
