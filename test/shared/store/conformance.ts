import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BlobStore } from '../../../src/shared/store/blobs.js';
import type {
  AttendanceQuery,
  AttendanceRecord,
  BatchJob,
  GalleryEntry,
  ItemResult,
  Sighting,
  Store,
  TemplateInput,
  UserInput,
  WebhookDelivery,
} from '../../../src/shared/store/store.js';
import { evidenceConformance } from './conformance-evidence.js';
import { unknownsConformance } from './conformance-unknowns.js';

/**
 * The contracts of Store (store.ts) and BlobStore (blobs.ts), run against every implementation:
 * SqliteStore + FsBlobStore always, MongoStore + GridFsBlobStore when a MongoDB server is there.
 * `open` gives a fresh, empty store for each test; `cleanup` closes and removes it.
 */
export function storeConformance(
  name: string,
  open: () => Promise<{ store: Store; blobs: BlobStore; cleanup(): Promise<void> }>,
): void {
  void describe(name, () => {
    let opened: { store: Store; blobs: BlobStore; cleanup(): Promise<void> };
    let store: Store;
    let blobs: BlobStore;

    beforeEach(async () => {
      opened = await open();
      ({ store, blobs } = opened);
    });
    afterEach(async () => {
      await opened.cleanup();
    });

    void describe('users and templates', () => {
      void it('enroll returns ENROLLED for a new user, then UPDATED, and updates the user', async () => {
        assert.equal(await store.enroll(user('u1'), template('photo-a'), 'add'), 'ENROLLED');
        const first = await store.getUser('u1');
        assert.ok(first);
        const renamed = { ...user('u1', 'g2'), name: 'Renamed', metadata: { role: 'admin' } };
        assert.equal(await store.enroll(renamed, template('photo-b'), 'add'), 'UPDATED');
        const second = await store.getUser('u1');
        assert.ok(second);
        assert.equal(second.name, 'Renamed');
        assert.equal(second.group, 'g2');
        assert.deepEqual(second.metadata, { role: 'admin' });
        assert.equal(second.enrolled_at, first.enrolled_at);
        assert.ok(second.updated_at >= first.updated_at);
        assert.deepEqual(second.templates.map((t) => t.photo_sha256).sort(), ['photo-a', 'photo-b']);
      });

      void it('a re-enrollment without a group keeps the user’s group; with one, moves the user', async () => {
        await store.enroll(user('u1', 'g1'), template('p1'), 'add');
        await store.enroll(user('u1', null), template('p2'), 'add');
        assert.equal((await store.getUser('u1'))?.group, 'g1');
        await store.enroll(user('u1', 'g2'), template('p3'), 'add');
        assert.equal((await store.getUser('u1'))?.group, 'g2');
      });

      void it('keeps one template when the same photo is enrolled twice', async () => {
        assert.equal(await store.enroll(user('u1'), template('photo-a'), 'add'), 'ENROLLED');
        assert.equal(await store.enroll(user('u1'), template('photo-a'), 'add'), 'UPDATED');
        assert.equal((await store.getUser('u1'))?.templates.length, 1);
        assert.equal((await store.gallery()).length, 1);
      });

      void it('replace mode leaves only the new template', async () => {
        await store.enroll(user('u1'), template('photo-a'), 'add');
        await store.enroll(user('u1'), template('photo-b'), 'add');
        assert.equal(await store.enroll(user('u1'), template('photo-c'), 'replace'), 'UPDATED');
        const templates = (await store.getUser('u1'))?.templates ?? [];
        assert.deepEqual(
          templates.map((t) => t.photo_sha256),
          ['photo-c'],
        );
        // Replacing with a photo that is already a template also leaves exactly one.
        await store.enroll(user('u1'), template('photo-d'), 'add');
        await store.enroll(user('u1'), template('photo-c'), 'replace');
        assert.deepEqual(
          (await store.getUser('u1'))?.templates.map((t) => t.photo_sha256),
          ['photo-c'],
        );
        // Another user's templates are untouched.
        await store.enroll(user('u2'), template('photo-a'), 'add');
        await store.enroll(user('u1'), template('photo-e'), 'replace');
        assert.equal((await store.getUser('u2'))?.templates.length, 1);
      });

      void it('keeps embeddings bit-exactly (gallery returns identical Float32Array values)', async () => {
        const special = [0, -0, 1.4e-45, -1.17e-38, 3.4028234e38, -3.4028234e38, Infinity, NaN, 0.1, 1 / 3];
        const values = Float32Array.from(
          { length: 512 },
          (_, i) => special[i] ?? Math.sin(i * 12.9898) * 0.07,
        );
        // A view at an offset into a larger buffer, as a pipeline output slice would be.
        const backing = new Float32Array(520);
        backing.set(values, 3);
        const view = backing.subarray(3, 515);
        await store.enroll(user('u1'), template('photo-a', view), 'add');
        await store.enroll(user('u2'), template('photo-b', values), 'add');
        const gallery = await store.gallery();
        assert.equal(gallery.length, 2);
        for (const entry of gallery) {
          assert.ok(entry.embedding instanceof Float32Array);
          assert.equal(entry.embedding.length, 512);
          assert.deepEqual(bytes(entry.embedding), bytes(values), `embedding of ${entry.user_id}`);
        }
      });

      void it('gallery holds every template, or one group, with its user', async () => {
        await store.enroll(user('a1', 'g1'), template('p1', embedding(1)), 'add');
        await store.enroll(user('a1', 'g1'), template('p2', embedding(2)), 'add');
        await store.enroll(user('b1', 'g2'), template('p3', embedding(3)), 'add');
        await store.enroll(user('c1', null), template('p4', embedding(4)), 'add');
        const all = await store.gallery();
        assert.deepEqual(all.map((e) => e.user_id).sort(), ['a1', 'a1', 'b1', 'c1']);
        const g1 = await store.gallery('g1');
        assert.equal(g1.length, 2);
        const templateIds = ((await store.getUser('a1'))?.templates ?? []).map((t) => t.template_id).sort();
        assert.deepEqual(g1.map((e) => e.template_id).sort(), templateIds);
        for (const e of g1) {
          assert.deepEqual(Object.keys(e).sort(), [
            'embedding',
            'group',
            'model',
            'name',
            'template_id',
            'user_id',
          ]);
          assert.equal(e.model, 'arcface-test'); // the model that made it: the gallery filters by it
          assert.equal(e.user_id, 'a1');
          assert.equal(e.name, 'Name a1');
          assert.equal(e.group, 'g1');
        }
        const c1 = all.find((e) => e.user_id === 'c1');
        assert.equal(c1?.group, null);
        assert.deepEqual(c1 && bytes(c1.embedding), bytes(embedding(4)));
        assert.deepEqual(await store.gallery('nobody'), []);
      });

      void it('listUsers pages by user_id with an opaque cursor, and filters by group', async () => {
        for (const id of ['u3', 'u5', 'u1', 'u4', 'u2']) {
          await store.enroll(
            user(id, id === 'u2' || id === 'u4' || id === 'u5' ? 'even' : 'odd'),
            template(id),
            'add',
          );
        }
        const seen: string[][] = [];
        let cursor: string | undefined;
        for (let pages = 0; pages < 10; pages++) {
          const page = await store.listUsers({ limit: 2, ...(cursor ? { cursor } : {}) });
          seen.push(page.items.map((u) => u.user_id));
          for (const u of page.items) assert.equal(u.templates.length, 1);
          if (page.next_cursor === null) break;
          assert.equal(typeof page.next_cursor, 'string');
          cursor = page.next_cursor;
        }
        assert.deepEqual(seen, [['u1', 'u2'], ['u3', 'u4'], ['u5']]);

        // A page that ends exactly at the last user has no next page.
        assert.equal((await store.listUsers({ limit: 5 })).next_cursor, null);
        const one = await store.listUsers({ limit: 4 });
        assert.equal(one.items.length, 4);
        assert.notEqual(one.next_cursor, null);

        const even = await store.listUsers({ group: 'even', limit: 2 });
        assert.deepEqual(
          even.items.map((u) => u.user_id),
          ['u2', 'u4'],
        );
        assert.ok(even.next_cursor);
        const evenRest = await store.listUsers({ group: 'even', limit: 2, cursor: even.next_cursor });
        const u5 = await store.getUser('u5');
        assert.ok(u5);
        assert.deepEqual(evenRest, { items: [u5], next_cursor: null });
        assert.deepEqual(await store.listUsers({ group: 'none', limit: 2 }), {
          items: [],
          next_cursor: null,
        });
      });

      void it('getUser returns the user with template summaries and no embeddings', async () => {
        const input: UserInput = {
          user_id: 'u1',
          name: 'Ada',
          group: 'staff',
          metadata: { n: 1, tags: ['x'] },
        };
        await store.enroll(input, template('photo-a'), 'add');
        await store.enroll(input, template('photo-b'), 'add');
        const got = await store.getUser('u1');
        assert.ok(got);
        assert.deepEqual(Object.keys(got).sort(), [
          'enrolled_at',
          'group',
          'metadata',
          'name',
          'templates',
          'updated_at',
          'user_id',
        ]);
        assert.deepEqual(
          { user_id: got.user_id, name: got.name, group: got.group, metadata: got.metadata },
          input,
        );
        assert.ok(!Number.isNaN(Date.parse(got.enrolled_at)));
        assert.equal(got.templates.length, 2);
        for (const t of got.templates) {
          assert.deepEqual(Object.keys(t).sort(), [
            'created_at',
            'detection_score',
            'model',
            'photo_sha256',
            'quality',
            'template_id',
          ]);
          assert.equal(t.model, 'arcface-test');
          assert.equal(t.detection_score, 0.97);
          assert.deepEqual(t.quality, { face_size: 180, sharpness: 42.5 });
          assert.equal(typeof t.template_id, 'string');
        }
        assert.notEqual(got.templates[0]?.template_id, got.templates[1]?.template_id);
        assert.equal(await store.getUser('nobody'), undefined);
      });

      void it('deleteUser erases user and templates, leaves a tombstone, and is undefined the second time', async () => {
        await store.enroll(user('u1'), template('photo-a'), 'add');
        await store.enroll(user('u1'), template('photo-b'), 'add');
        await store.enroll(user('u2'), template('photo-a'), 'add');
        assert.equal(await store.erasedAt('u1'), undefined);

        const receipt = await store.deleteUser('u1');
        assert.ok(receipt);
        assert.deepEqual(Object.keys(receipt).sort(), [
          'attendance_records_kept',
          'erased_at',
          'templates_erased',
          'user_id',
        ]);
        assert.equal(receipt.attendance_records_kept, 0);
        assert.equal(receipt.user_id, 'u1');
        assert.equal(receipt.templates_erased, 2);
        assert.ok(!Number.isNaN(Date.parse(receipt.erased_at)));

        assert.equal(await store.getUser('u1'), undefined);
        assert.equal(await store.erasedAt('u1'), receipt.erased_at);
        assert.deepEqual(
          (await store.gallery()).map((e) => e.user_id),
          ['u2'],
        );
        assert.deepEqual(
          (await store.listUsers({ limit: 10 })).items.map((u) => u.user_id),
          ['u2'],
        );
        assert.equal(await store.deleteUser('u1'), undefined);
        assert.ok(await store.erasedAt('u1'));
        assert.equal((await store.getUser('u2'))?.templates.length, 1);

        // Enrolling again after erasure is a new enrollment (callers decide whether to allow it).
        assert.equal(await store.enroll(user('u1'), template('photo-c'), 'add'), 'ENROLLED');
        assert.equal((await store.getUser('u1'))?.templates.length, 1);
      });

      void it('an enrollment accepted before the user’s erasure is refused and writes nothing', async () => {
        const acceptedBefore = new Date(Date.now() - 60_000).toISOString();
        await store.enroll(user('u1'), template('photo-a'), 'add');
        await store.deleteUser('u1');
        assert.equal(await store.enroll(user('u1'), template('photo-b'), 'add', acceptedBefore), 'ERASED');
        assert.equal(await store.getUser('u1'), undefined);
        assert.deepEqual(await store.gallery(), []);
        // Accepted after the erasure: a new enrollment.
        const acceptedAfter = new Date(Date.now() + 1000).toISOString();
        assert.equal(await store.enroll(user('u1'), template('photo-c'), 'add', acceptedAfter), 'ENROLLED');
      });

      void it('erasure wins over enrollments running at the same moment: no template or user remains', async () => {
        const accepted = new Date(Date.now() - 60_000).toISOString();
        await store.enroll(user('u1'), template('photo-0'), 'add', accepted);
        // Enrollments start every 2 ms over 40 ms; the erasure at 10 ms, amid them.
        const enrolls = Array.from({ length: 20 }, (_, i) =>
          later(i * 2, () =>
            store.enroll(user('u1'), template(`photo-${i + 1}`, embedding(i + 2)), 'add', accepted),
          ),
        );
        const erasure = later(10, () => store.deleteUser('u1'));
        const outcomes = await Promise.all(enrolls);
        await erasure;
        assert.equal(await store.getUser('u1'), undefined, `outcomes ${outcomes.join(',')}`);
        assert.deepEqual(await store.gallery(), [], `outcomes ${outcomes.join(',')}`);
        assert.deepEqual(await store.userTemplates('u1'), []);
        assert.equal((await store.galleryPage({ limit: 100 })).items.length, 0);
        // Nothing left behind either: a template without its user would reappear on re-enrollment.
        const fresh = new Date(Date.now() + 1000).toISOString();
        await store.enroll(user('u1'), template('photo-new'), 'add', fresh);
        const again = await store.getUser('u1');
        assert.deepEqual(
          again?.templates.map((t) => t.photo_sha256),
          ['photo-new'],
          `outcomes ${outcomes.join(',')}`,
        );
      });
    });

    void describe('gallery paging and lookups', () => {
      /** Five templates of three users, in an order unrelated to their template_ids. */
      const enrollFive = async () => {
        await store.enroll(user('a1', 'g1'), template('p1', embedding(1)), 'add');
        await store.enroll(user('b1', 'g2'), template('p2', embedding(2)), 'add');
        await store.enroll(user('a1', 'g1'), template('p3', embedding(3)), 'add');
        await store.enroll(user('c1', null), template('p4', embedding(4)), 'add');
        await store.enroll(user('b1', 'g2'), template('p5', embedding(5)), 'add');
      };
      const seed = new Map(['p1', 'p2', 'p3', 'p4', 'p5'].map((p, i) => [p, embedding(i + 1)]));
      /** template_id -> photo_sha256, from the user records. */
      const photos = async () => {
        const out = new Map<string, string>();
        for (const id of ['a1', 'b1', 'c1']) {
          for (const t of (await store.getUser(id))?.templates ?? []) out.set(t.template_id, t.photo_sha256);
        }
        return out;
      };

      void it('galleryPage pages through every template exactly once, in template_id order', async () => {
        assert.deepEqual(await store.galleryPage({ limit: 2 }), { items: [], next_cursor: null });
        await enrollFive();
        const pages: GalleryEntry[][] = [];
        let cursor: string | undefined;
        for (let n = 0; n < 10; n++) {
          const page = await store.galleryPage({ limit: 2, ...(cursor ? { cursor } : {}) });
          pages.push(page.items);
          if (page.next_cursor === null) break;
          assert.equal(typeof page.next_cursor, 'string');
          cursor = page.next_cursor;
        }
        assert.deepEqual(
          pages.map((p) => p.length),
          [2, 2, 1],
        );
        const entries = pages.flat();
        const ids = entries.map((e) => e.template_id);
        assert.deepEqual(ids, [...ids].sort());
        const byTemplate = await photos();
        assert.deepEqual(new Set(ids), new Set(byTemplate.keys()));
        assert.equal(new Set(ids).size, 5);
        const gallery = new Map((await store.gallery()).map((e) => [e.template_id, e]));
        for (const e of entries) {
          assert.deepEqual(Object.keys(e).sort(), [
            'embedding',
            'group',
            'model',
            'name',
            'template_id',
            'user_id',
          ]);
          assert.ok(e.embedding instanceof Float32Array);
          const photo = byTemplate.get(e.template_id);
          assert.ok(photo);
          assert.deepEqual(bytes(e.embedding), bytes(seed.get(photo) ?? new Float32Array()));
          const g = gallery.get(e.template_id);
          assert.deepEqual(
            { user_id: e.user_id, name: e.name, group: e.group },
            { user_id: g?.user_id, name: g?.name, group: g?.group },
          );
        }
        // A page ending exactly at the last template has no next page.
        const all = await store.galleryPage({ limit: 5 });
        assert.equal(all.items.length, 5);
        assert.equal(all.next_cursor, null);
        assert.notEqual((await store.galleryPage({ limit: 4 })).next_cursor, null);
      });

      void it('userTemplates gives one user’s templates with embeddings, and [] when gone', async () => {
        await enrollFive();
        const byTemplate = await photos();
        const a1 = await store.userTemplates('a1');
        assert.equal(a1.length, 2);
        assert.deepEqual(
          a1.map((e) => e.template_id),
          a1.map((e) => e.template_id).sort(),
        );
        assert.deepEqual(a1.map((e) => byTemplate.get(e.template_id)).sort(), ['p1', 'p3']);
        for (const e of a1) {
          assert.deepEqual(Object.keys(e).sort(), [
            'embedding',
            'group',
            'model',
            'name',
            'template_id',
            'user_id',
          ]);
          assert.deepEqual(
            { user_id: e.user_id, name: e.name, group: e.group },
            { user_id: 'a1', name: 'Name a1', group: 'g1' },
          );
          const photo = byTemplate.get(e.template_id);
          assert.deepEqual(bytes(e.embedding), bytes(seed.get(photo ?? '') ?? new Float32Array()));
        }
        const c1 = await store.userTemplates('c1');
        assert.equal(c1.length, 1);
        assert.equal(c1[0]?.group, null);
        assert.deepEqual(await store.userTemplates('nobody'), []);
        await store.deleteUser('a1');
        assert.deepEqual(await store.userTemplates('a1'), []);
        assert.equal((await store.userTemplates('b1')).length, 2);
      });

      void it('templateEmbeddings returns exact embeddings and leaves unknown ids out', async () => {
        await enrollFive();
        const byTemplate = await photos();
        const ids = [...byTemplate.keys()];
        const wanted = [ids[3] ?? '', 'no-such-template', ids[0] ?? '', ids[0] ?? ''];
        const got = await store.templateEmbeddings(wanted);
        assert.deepEqual([...got.keys()].sort(), [ids[0], ids[3]].sort());
        for (const [id, v] of got) {
          assert.ok(v instanceof Float32Array);
          assert.deepEqual(bytes(v), bytes(seed.get(byTemplate.get(id) ?? '') ?? new Float32Array()));
        }
        assert.equal((await store.templateEmbeddings([])).size, 0);
        assert.equal((await store.templateEmbeddings(['nope'])).size, 0);
        const every = await store.templateEmbeddings(ids);
        assert.equal(every.size, 5);
      });
    });

    void describe('attendance', () => {
      /** Every record matching the query, in list order. */
      const records = async (q: Omit<AttendanceQuery, 'limit'> = {}) =>
        (await store.listAttendance({ ...q, limit: 1000 })).items;
      const record = async (userId: string) => {
        const found = await records({ user_id: userId });
        assert.equal(found.length, 1, `one record for ${userId}`);
        return found[0] as AttendanceRecord;
      };

      void it('sightings chaining within the window are one record, in every arrival order', async () => {
        const minutes = [0, 4, 8];
        const orders = [
          [0, 1, 2],
          [0, 2, 1],
          [1, 0, 2],
          [1, 2, 0],
          [2, 0, 1],
          [2, 1, 0],
        ];
        for (const [n, order] of orders.entries()) {
          const userId = `u${n}`;
          let last = '';
          for (const i of order) {
            const m = minutes[i] ?? 0;
            ({ attendance_id: last } = await store.recordSighting(
              sighting(`s-${n}-${m}`, m, { user_id: userId }),
              WINDOW,
            ));
          }
          const r = await record(userId);
          const label = `order ${order.join(',')}`;
          assert.equal(r.attendance_id, last, label);
          assert.equal(r.timestamp, at(0), label);
          assert.equal(r.last_seen, at(8), label);
          assert.equal(r.sightings, 3, label);
          // Every sighting now answers with the one record, also those of absorbed records.
          for (const m of minutes) {
            assert.deepEqual(
              await store.recordSighting(sighting(`s-${n}-${m}`, m, { user_id: userId }), WINDOW),
              { attendance_id: r.attendance_id },
              label,
            );
          }
          assert.equal((await record(userId)).sightings, 3, label);
        }
        assert.equal((await records()).length, orders.length);
      });

      void it('24 concurrent sightings of one person at one camera make one record counting all 24', async () => {
        // Frames of one camera run in parallel on several workers: each writer may find no
        // record in the window at the same moment. Spread over 0-9.2 minutes (window 5): chained.
        const n = 24;
        const results = await Promise.all(
          Array.from({ length: n }, (_, i) =>
            store.recordSighting(
              sighting(`c-${i}`, i * 0.4, { similarity: 0.7 + i / 1000, distance: 0.3 - i / 1000 }),
              WINDOW,
            ),
          ),
        );
        const r = await record('u1');
        assert.equal(r.sightings, n);
        assert.equal(r.timestamp, at(0));
        assert.equal(r.last_seen, at((n - 1) * 0.4));
        assert.equal(r.similarity_score, 0.7 + (n - 1) / 1000, 'the best sighting wins');
        // Every caller was told a record; a repeat of each sighting answers with the one record.
        assert.equal(results.length, n);
        for (let i = 0; i < n; i++) {
          const again = await store.recordSighting(sighting(`c-${i}`, i * 0.4), WINDOW);
          assert.deepEqual(again, { attendance_id: r.attendance_id }, `sighting c-${i}`);
        }
        assert.equal((await record('u1')).sightings, n);
      });

      void it('a sighting within the window of two records merges them into one', async () => {
        const first = await store.recordSighting(sighting('s-0', 0), WINDOW);
        const second = await store.recordSighting(sighting('s-9', 9), WINDOW);
        assert.notEqual(first.attendance_id, second.attendance_id);
        assert.equal((await records({ user_id: 'u1' })).length, 2);

        const bridge = await store.recordSighting(sighting('s-4.5', 4.5), WINDOW);
        const r = await record('u1');
        assert.equal(bridge.attendance_id, r.attendance_id);
        // The earliest record is kept.
        assert.equal(r.attendance_id, first.attendance_id);
        assert.deepEqual([r.timestamp, r.last_seen, r.sightings], [at(0), at(9), 3]);
        assert.deepEqual(await store.recordSighting(sighting('s-9', 9), WINDOW), first);
      });

      void it('the window is inclusive: exactly windowMs apart chains, 1 ms more does not', async () => {
        await store.recordSighting(sighting('a-0', 0, { user_id: 'u1' }), WINDOW);
        await store.recordSighting(sighting('a-5', 5, { user_id: 'u1' }), WINDOW);
        assert.equal((await record('u1')).sightings, 2);

        await store.recordSighting(sighting('b-0', 0, { user_id: 'u2' }), WINDOW);
        await store.recordSighting(
          sighting('b-5', 5, { user_id: 'u2', captured_at: new Date(T0 + WINDOW + 1).toISOString() }),
          WINDOW,
        );
        assert.equal((await records({ user_id: 'u2' })).length, 2);

        // t and t+11 min are two records; t+5.5 min is within 5 min of neither: a third.
        await store.recordSighting(sighting('c-0', 0, { user_id: 'u3' }), WINDOW);
        await store.recordSighting(sighting('c-11', 11, { user_id: 'u3' }), WINDOW);
        await store.recordSighting(sighting('c-5.5', 5.5, { user_id: 'u3' }), WINDOW);
        assert.equal((await records({ user_id: 'u3' })).length, 3);
      });

      void it('sightings of other cameras or other users never merge', async () => {
        const a = await store.recordSighting(sighting('s-1', 0), WINDOW);
        const b = await store.recordSighting(sighting('s-2', 0, { camera_id: 'cam-2' }), WINDOW);
        const c = await store.recordSighting(sighting('s-3', 0, { user_id: 'u2', name: 'Name u2' }), WINDOW);
        const d = await store.recordSighting(sighting('s-4', 1), WINDOW);
        assert.equal(new Set([a, b, c].map((x) => x.attendance_id)).size, 3);
        assert.equal(d.attendance_id, a.attendance_id);
        const all = await records();
        assert.equal(all.length, 3);
        const byId = new Map(all.map((r) => [r.attendance_id, r]));
        assert.equal(byId.get(a.attendance_id)?.sightings, 2);
        assert.deepEqual(
          [byId.get(b.attendance_id)?.camera_id, byId.get(b.attendance_id)?.sightings],
          ['cam-2', 1],
        );
        assert.deepEqual(
          [byId.get(c.attendance_id)?.user_id, byId.get(c.attendance_id)?.sightings],
          ['u2', 1],
        );
      });

      void it('eraseAttendancePhotos detaches and returns only that user’s face crops', async () => {
        await store.recordSighting(sighting('e-1', 0), WINDOW);
        await store.recordSighting(sighting('e-2', 20), WINDOW);
        await store.recordSighting(sighting('e-3', 0, { user_id: 'u2', name: 'Name u2' }), WINDOW);
        const keys = await store.eraseAttendancePhotos('u1');
        assert.deepEqual(keys.sort(), ['thumbs/e-1.jpg', 'thumbs/e-2.jpg']);
        const all = await records();
        assert.equal(all.length, 3, 'the records themselves stay');
        assert.deepEqual(all.map((r) => [r.user_id, r.thumbnail]).sort(), [
          ['u1', null],
          ['u1', null],
          ['u2', 'thumbs/e-3.jpg'],
        ]);
        assert.deepEqual(await store.eraseAttendancePhotos('u1'), []);
      });

      void it('a crop recorded while eraseAttendancePhotos runs is returned by it or by the next call', async () => {
        // Sightings every 2 ms over 40 ms, the erasure at 10 ms; the worker that recorded a
        // sighting after the erasure began erases again (the processor does). Half chain into one
        // record, each worse than the first (its crop is only the sighting's), half are records.
        const recorded = Array.from({ length: 20 }, (_, i) =>
          later(i * 2, () =>
            store.recordSighting(
              sighting(`r-${i}`, i % 2 ? i * 10 : i * 0.1, { similarity: 0.9 - i / 100 }),
              WINDOW,
            ),
          ),
        );
        const during = later(10, () => store.eraseAttendancePhotos('u1'));
        await Promise.all(recorded);
        const keys = new Set([...(await during), ...(await store.eraseAttendancePhotos('u1'))]);
        const expected = Array.from({ length: 20 }, (_, i) => `thumbs/r-${i}.jpg`).sort();
        assert.deepEqual([...keys].sort(), expected, 'no crop lost track of');
        assert.ok((await records()).every((r) => r.thumbnail === null));
      });

      void it('deleteUser’s receipt counts the attendance records it keeps', async () => {
        await store.enroll(user('u1'), template('photo-a'), 'add');
        await store.recordSighting(sighting('k-1', 0), WINDOW);
        await store.recordSighting(sighting('k-2', 20), WINDOW);
        await store.recordSighting(sighting('k-3', 0, { user_id: 'u2', name: 'Name u2' }), WINDOW);
        assert.equal((await store.deleteUser('u1'))?.attendance_records_kept, 2);
      });

      void it('recording a sighting_id again changes nothing', async () => {
        const first = await store.recordSighting(sighting('s-1', 0), WINDOW);
        const before = await record('u1');
        assert.deepEqual(await store.recordSighting(sighting('s-1', 0), WINDOW), first);
        // Even when the repeat differs (it is the same sighting, retried).
        assert.deepEqual(
          await store.recordSighting(sighting('s-1', 3, { similarity: 0.99, camera_id: 'cam-9' }), WINDOW),
          first,
        );
        assert.deepEqual(await records(), [before]);
        await store.recordSighting(sighting('s-2', 2), WINDOW);
        await store.recordSighting(sighting('s-2', 2), WINDOW);
        assert.equal((await record('u1')).sightings, 2);
      });

      void it('keeps the best (highest similarity) sighting’s score, distance, bbox and thumbnail', async () => {
        const box = (x: number) => ({ x, y: x + 1, width: 100 + x, height: 120 + x });
        const s = (id: string, m: number, similarity: number) =>
          sighting(id, m, {
            similarity,
            distance: round4(1 - similarity),
            bbox: box(m),
            thumbnail: `thumbs/${id}.jpg`,
          });
        await store.recordSighting(s('s-0', 0, 0.7), WINDOW);
        await store.recordSighting(s('s-2', 2, 0.9), WINDOW);
        await store.recordSighting(s('s-4', 4, 0.8), WINDOW);
        let r = await record('u1');
        assert.deepEqual(
          [r.similarity_score, r.distance, r.bbox, r.thumbnail, r.sightings],
          [0.9, 0.1, box(2), 'thumbs/s-2.jpg', 3],
        );

        // Also across a merge: the best of the absorbed record wins over the kept one's.
        const t = (id: string, m: number, similarity: number) => ({ ...s(id, m, similarity), user_id: 'u2' });
        await store.recordSighting(t('t-0', 0, 0.6), WINDOW);
        await store.recordSighting(t('t-8', 8, 0.95), WINDOW);
        await store.recordSighting(t('t-4', 4, 0.7), WINDOW);
        r = await record('u2');
        assert.deepEqual(
          [r.similarity_score, r.distance, r.bbox, r.thumbnail, r.sightings],
          [0.95, 0.05, box(8), 'thumbs/t-8.jpg', 3],
        );
      });

      void it('unknown sightings are never merged and keep their embedding bit-exactly', async () => {
        const special = [0, -0, 1.4e-45, -1.17e-38, 3.4028234e38, 0.1, 1 / 3];
        const emb = Float32Array.from({ length: 512 }, (_, i) => special[i] ?? Math.sin(i * 12.9898) * 0.07);
        const unknown = (id: string, m: number): Sighting =>
          sighting(id, m, { kind: 'unknown', user_id: null, name: null, embedding: emb, similarity: 0.31 });
        const a = await store.recordSighting(unknown('x-1', 0), WINDOW);
        const b = await store.recordSighting(unknown('x-2', 0), WINDOW);
        const c = await store.recordSighting(unknown('x-3', 1), WINDOW);
        assert.equal(new Set([a, b, c].map((x) => x.attendance_id)).size, 3);
        assert.deepEqual(await store.recordSighting(unknown('x-1', 0), WINDOW), a);
        const all = await records({ kind: 'unknown' });
        assert.equal(all.length, 3);
        for (const r of all) {
          assert.equal(r.kind, 'unknown');
          assert.equal(r.user_id, null);
          assert.equal(r.sightings, 1);
          assert.equal(r.similarity_score, 0.31);
          assert.ok(Array.isArray(r.embedding));
          assert.equal(r.embedding.length, 512);
          assert.ok(r.embedding.every((v) => typeof v === 'number'));
          assert.deepEqual(bytes(Float32Array.from(r.embedding)), bytes(emb));
          assert.ok(Object.is(r.embedding[1], -0));
        }
        // A match's record has no embedding.
        await store.recordSighting(sighting('m-1', 0), WINDOW);
        assert.equal((await record('u1')).embedding, null);
      });

      void it('a record has exactly the AttendanceRecord fields', async () => {
        const { attendance_id } = await store.recordSighting(sighting('s-1', 0), WINDOW);
        await store.recordSighting(sighting('s-2', 3, { similarity: 0.5, distance: 0.5 }), WINDOW);
        const expected: AttendanceRecord = {
          attendance_id,
          kind: 'match',
          user_id: 'u1',
          name: 'Name u1',
          group: 'g1',
          camera_id: 'cam-1',
          timestamp: at(0),
          last_seen: at(3),
          sightings: 2,
          status: 'unconfirmed', // the second sighting (0.5) is over the confirm threshold (0.3)
          confirming_sightings: 1,
          strong_sightings: 0,
          window_closes_at: at(8),
          similarity_score: 0.8,
          distance: 0.2,
          margin: 0.25,
          threshold: 0.59,
          confirm_threshold: 0.3,
          strong_threshold: 0.15,
          bbox: { x: 10, y: 20, width: 100, height: 120 },
          thumbnail: 'thumbs/s-1.jpg',
          embedding: null,
          job_id: 'job-1',
          unknown_id: null,
        };
        assert.deepEqual(await records(), [expected]);
      });

      void it('stores and compares times in one form, whatever form they arrive in', async () => {
        // Text order would put "09:00:00Z" after "09:00:00.500Z".
        await store.recordSighting(sighting('s-1', 0, { captured_at: '2026-03-02T09:00:00.500Z' }), WINDOW);
        await store.recordSighting(sighting('s-2', 0, { captured_at: '2026-03-02T10:00:00+01:00' }), WINDOW);
        const r = await record('u1');
        assert.deepEqual(
          [r.timestamp, r.last_seen, r.sightings],
          ['2026-03-02T09:00:00.000Z', '2026-03-02T09:00:00.500Z', 2],
        );
        assert.equal((await records({ from: '2026-03-02T09:00:00Z', to: '2026-03-02T09:00:00Z' })).length, 1);
        assert.equal((await records({ from: '2026-03-02T09:00:00.001Z' })).length, 0);
      });

      void it('listAttendance filters by user, camera, group, kind and inclusive time range', async () => {
        const ids = new Map<string, string>();
        const add = async (key: string, s: Sighting) =>
          ids.set(key, (await store.recordSighting(s, WINDOW)).attendance_id);
        await add('r1', sighting('s-1', 0));
        await add('r2', sighting('s-2', 10, { user_id: 'u2', name: 'Name u2', group: 'g2' }));
        await add('r3', sighting('s-3', 20, { camera_id: 'cam-2' }));
        await add(
          'r4',
          sighting('s-4', 30, { kind: 'unknown', user_id: null, name: null, embedding: embedding(9) }),
        );
        await add('r5', sighting('s-5', 40));
        await add(
          'r6',
          sighting('s-6', 10, { user_id: 'u3', name: 'Name u3', group: null, camera_id: 'cam-2' }),
        );
        const keys = async (q: Omit<AttendanceQuery, 'limit'>) => {
          const byId = new Map([...ids].map(([k, v]) => [v, k]));
          return (await records(q)).map((r) => byId.get(r.attendance_id));
        };
        // r2 and r6 share a timestamp: attendance_id decides.
        const tied = (ids.get('r2') ?? '') < (ids.get('r6') ?? '') ? ['r2', 'r6'] : ['r6', 'r2'];
        assert.deepEqual(await keys({}), ['r1', ...tied, 'r3', 'r4', 'r5']);
        assert.deepEqual(await keys({ user_id: 'u1' }), ['r1', 'r3', 'r5']);
        assert.deepEqual(await keys({ camera_id: 'cam-2' }), ['r6', 'r3']);
        assert.deepEqual(await keys({ group: 'g1' }), ['r1', 'r3', 'r4', 'r5']);
        assert.deepEqual(await keys({ kind: 'unknown' }), ['r4']);
        assert.deepEqual(await keys({ kind: 'match' }), ['r1', ...tied, 'r3', 'r5']);
        assert.deepEqual(await keys({ from: at(10), to: at(30) }), [...tied, 'r3', 'r4']);
        assert.deepEqual(await keys({ from: at(40) }), ['r5']);
        assert.deepEqual(await keys({ to: at(0) }), ['r1']);
        assert.deepEqual(await keys({ from: at(10.5), to: at(19.9) }), []);
        assert.deepEqual(await keys({ user_id: 'u1', camera_id: 'cam-1', from: at(1) }), ['r5']);
        assert.deepEqual(await keys({ user_id: 'nobody' }), []);
      });

      void it('listAttendance pages in (timestamp, attendance_id) order with an opaque cursor', async () => {
        // Seven records, three of them at one time (different users), recorded out of order.
        const plan: [string, number][] = [
          ['u5', 30],
          ['u1', 10],
          ['u2', 10],
          ['u7', 0],
          ['u3', 10],
          ['u6', 50],
          ['u4', 20],
        ];
        for (const [userId, m] of plan) {
          await store.recordSighting(sighting(`s-${userId}`, m, { user_id: userId }), WINDOW);
        }
        const full = await records();
        assert.equal(full.length, 7);
        const order = (r: AttendanceRecord) => `${r.timestamp}|${r.attendance_id}`;
        assert.deepEqual(full.map(order), full.map(order).sort());

        const pages: AttendanceRecord[][] = [];
        let cursor: string | undefined;
        for (let n = 0; n < 10; n++) {
          const page = await store.listAttendance({ limit: 2, ...(cursor ? { cursor } : {}) });
          pages.push(page.items);
          if (page.next_cursor === null) break;
          assert.equal(typeof page.next_cursor, 'string');
          cursor = page.next_cursor;
        }
        assert.deepEqual(
          pages.map((p) => p.length),
          [2, 2, 2, 1],
        );
        assert.deepEqual(pages.flat(), full);

        // With a filter, and a page ending exactly at the last record.
        const first = await store.listAttendance({ from: at(10), limit: 3 });
        assert.deepEqual(first.items, full.slice(1, 4));
        assert.ok(first.next_cursor);
        const rest = await store.listAttendance({ from: at(10), limit: 3, cursor: first.next_cursor });
        assert.deepEqual(rest, { items: full.slice(4), next_cursor: null });
        assert.deepEqual(await store.listAttendance({ user_id: 'nobody', limit: 2 }), {
          items: [],
          next_cursor: null,
        });
      });
    });

    evidenceConformance(() => store);
    unknownsConformance(() => store);

    void describe('jobs and item results', () => {
      void it('creates, gets and updates a job', async () => {
        const j = job('job-1');
        await store.createJob(j);
        assert.deepEqual(await store.getJob('job-1'), j);
        assert.equal(await store.getJob('nope'), undefined);

        await store.updateJob('job-1', { status: 'active', started_at: '2026-01-01T00:00:01.000Z' });
        assert.deepEqual(await store.getJob('job-1'), {
          ...j,
          status: 'active',
          started_at: '2026-01-01T00:00:01.000Z',
        });
        await store.updateJob('job-1', {});
        await store.updateJob('job-1', { status: 'completed', finished_at: '2026-01-01T00:00:09.000Z' });
        assert.deepEqual(await store.getJob('job-1'), {
          ...j,
          status: 'completed',
          started_at: '2026-01-01T00:00:01.000Z',
          finished_at: '2026-01-01T00:00:09.000Z',
        });
      });

      void it('updateJob sets photos and failure_reason, alone or with the status, and keeps the rest', async () => {
        const j = job('job-1');
        await store.createJob(j);
        await store.updateJob('job-1', {
          status: 'completed',
          finished_at: '2026-01-01T00:00:09.000Z',
          photos: 'pending_deletion',
        });
        const done = { ...j, status: 'completed' as const, finished_at: '2026-01-01T00:00:09.000Z' };
        assert.deepEqual(await store.getJob('job-1'), { ...done, photos: 'pending_deletion' });
        for (const photos of ['deletion_failed', 'kept', 'deleted'] as const) {
          await store.updateJob('job-1', { photos });
          assert.deepEqual(await store.getJob('job-1'), { ...done, photos });
        }
        const reason = 'the batch could not be finalised: store "down" — 30 s';
        await store.updateJob('job-1', { status: 'failed', failure_reason: reason });
        assert.deepEqual(await store.getJob('job-1'), {
          ...done,
          photos: 'deleted',
          status: 'failed',
          failure_reason: reason,
        });
        // Another job is untouched.
        await store.createJob(job('job-2'));
        assert.deepEqual(await store.getJob('job-2'), job('job-2'));
      });

      void it('webhook endpoints: add, get, list oldest first, disable once, delete', async () => {
        const e = (id: string, at: string) => ({
          endpoint_id: id,
          url: `https://example.test/${id}`,
          secret: `whsec_${id}`,
          created_at: at,
          disabled_at: null,
        });
        await store.addWebhookEndpoint(e('we-2', '2026-01-01T00:00:02.000Z'));
        await store.addWebhookEndpoint(e('we-1', '2026-01-01T00:00:01.000Z'));
        assert.deepEqual(await store.getWebhookEndpoint('we-1'), e('we-1', '2026-01-01T00:00:01.000Z'));
        assert.equal(await store.getWebhookEndpoint('we-9'), undefined);
        assert.deepEqual(
          (await store.listWebhookEndpoints()).map((x) => x.endpoint_id),
          ['we-1', 'we-2'],
        );
        await store.disableWebhookEndpoint('we-2', '2026-01-02T00:00:00.000Z');
        await store.disableWebhookEndpoint('we-2', '2026-01-03T00:00:00.000Z');
        assert.equal((await store.getWebhookEndpoint('we-2'))?.disabled_at, '2026-01-02T00:00:00.000Z');
        assert.equal(await store.deleteWebhookEndpoint('we-1'), true);
        assert.equal(await store.deleteWebhookEndpoint('we-1'), false);
        assert.deepEqual(
          (await store.listWebhookEndpoints()).map((x) => x.endpoint_id),
          ['we-2'],
        );
      });

      void it('getItemResult finds one result by job and index, or nothing', async () => {
        await store.createJob(job('job-1'));
        const r = item('job-1', 3, true, 'ENROLLED');
        await store.putItemResult(r);
        assert.deepEqual(await store.getItemResult('job-1', 3), r);
        assert.equal(await store.getItemResult('job-1', 4), undefined);
        assert.equal(await store.getItemResult('job-2', 3), undefined);
      });

      void it('putItemResult upserts by (job_id, index): a retry overwrites, never duplicates', async () => {
        await store.createJob(job('job-1'));
        await store.putItemResult(item('job-1', 0, false, 'NO_FACE_DETECTED'));
        const retried = {
          ...item('job-1', 0, true, 'ENROLLED'),
          detail: { template_id: 't-1', nested: { a: [1, 2] } },
        };
        await store.putItemResult(retried);
        assert.deepEqual(await store.countItemResults('job-1'), { done: 1, failed: 0 });
        assert.deepEqual(await store.listItemResults('job-1', { limit: 10 }), {
          items: [retried],
          next_cursor: null,
        });
      });

      void it('listItemResults pages in index order, per job', async () => {
        for (const i of [10, 2, 0, 7, 1, 3, 11])
          await store.putItemResult(item('job-1', i, true, 'EMBEDDED'));
        await store.putItemResult(item('job-2', 5, true, 'EMBEDDED'));
        const seen: number[][] = [];
        let cursor: string | undefined;
        for (let pages = 0; pages < 10; pages++) {
          const page = await store.listItemResults('job-1', { limit: 3, ...(cursor ? { cursor } : {}) });
          seen.push(page.items.map((r) => r.index));
          for (const r of page.items) assert.equal(r.job_id, 'job-1');
          if (page.next_cursor === null) break;
          cursor = page.next_cursor;
        }
        assert.deepEqual(seen, [[0, 1, 2], [3, 7, 10], [11]]);
        assert.equal((await store.listItemResults('job-1', { limit: 7 })).next_cursor, null);
        assert.deepEqual(await store.listItemResults('job-3', { limit: 3 }), {
          items: [],
          next_cursor: null,
        });
      });

      void it('listItemResults with an outcome pages through only those items; a forged cursor is refused', async () => {
        for (let i = 0; i < 9; i++) {
          await store.putItemResult(
            item('job-1', i, i % 3 !== 0, i % 3 === 0 ? 'NO_FACE_DETECTED' : 'ENROLLED'),
          );
        }
        const first = await store.listItemResults('job-1', { limit: 2, outcome: 'NO_FACE_DETECTED' });
        assert.deepEqual(
          first.items.map((r) => [r.index, r.outcome]),
          [
            [0, 'NO_FACE_DETECTED'],
            [3, 'NO_FACE_DETECTED'],
          ],
        );
        assert.ok(first.next_cursor);
        const rest = await store.listItemResults('job-1', {
          limit: 2,
          outcome: 'NO_FACE_DETECTED',
          cursor: first.next_cursor,
        });
        assert.deepEqual(
          rest.items.map((r) => r.index),
          [6],
        );
        assert.equal(rest.next_cursor, null);
        await assert.rejects(
          async () => store.listItemResults('job-1', { limit: 2, cursor: 'bm90LWEtbnVtYmVy' }),
          /cursor/,
        );
      });

      void it('countItemResults counts done and failed', async () => {
        assert.deepEqual(await store.countItemResults('job-1'), { done: 0, failed: 0 });
        for (let i = 0; i < 5; i++) await store.putItemResult(item('job-1', i, i % 2 === 0, 'X'));
        await store.putItemResult(item('job-2', 0, false, 'X'));
        assert.deepEqual(await store.countItemResults('job-1'), { done: 5, failed: 2 });
      });
    });

    void describe('idempotency keys', () => {
      void it('exactly one of 20 concurrent claims of a key wins', async () => {
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => store.claimIdempotencyKey('key-1', `sha-${i}`)),
        );
        assert.equal(results.filter((r) => r.claimed).length, 1);
        const winner = results.findIndex((r) => r.claimed);
        for (const r of results) {
          if (r.claimed) continue;
          assert.equal(r.record.key, 'key-1');
          assert.equal(r.record.body_sha256, `sha-${winner}`);
          assert.equal(r.record.response, null);
          assert.ok(!Number.isNaN(Date.parse(r.record.created_at)));
        }
      });

      void it('a claim after setIdempotencyResponse returns the record with the response', async () => {
        assert.deepEqual(await store.claimIdempotencyKey('key-1', 'sha-a'), { claimed: true });
        const response = { status: 202, body: { job_id: 'job-1', links: ['x'], n: null } };
        await store.setIdempotencyResponse('key-1', response);
        const again = await store.claimIdempotencyKey('key-1', 'sha-b');
        assert.equal(again.claimed, false);
        assert.ok(!again.claimed);
        assert.deepEqual(Object.keys(again.record).sort(), ['body_sha256', 'created_at', 'key', 'response']);
        assert.equal(again.record.body_sha256, 'sha-a');
        assert.deepEqual(again.record.response, response);
        // A key with a response is kept: releasing it is for requests that failed before creating anything.
        await store.releaseIdempotencyKey('key-1');
        assert.equal((await store.claimIdempotencyKey('key-1', 'sha-a')).claimed, false);
        assert.deepEqual(await store.claimIdempotencyKey('key-2', 'sha-a'), { claimed: true });
      });

      void it('releaseIdempotencyKey lets a new claim succeed', async () => {
        assert.equal((await store.claimIdempotencyKey('key-1', 'sha-a')).claimed, true);
        assert.equal((await store.claimIdempotencyKey('key-1', 'sha-a')).claimed, false);
        await store.releaseIdempotencyKey('key-1');
        assert.equal((await store.claimIdempotencyKey('key-1', 'sha-b')).claimed, true);
        const record = await store.claimIdempotencyKey('key-1', 'sha-c');
        assert.ok(!record.claimed && record.record.body_sha256 === 'sha-b');
        await store.releaseIdempotencyKey('never-claimed');
      });
    });

    void describe('webhook deliveries', () => {
      void it('lists a job’s deliveries ordered by time, then attempt', async () => {
        const d2 = delivery('d-1', 2, '2026-01-01T00:00:05.000Z', false);
        const d1 = delivery('d-1', 1, '2026-01-01T00:00:00.000Z', false);
        const d3 = delivery('d-1', 3, '2026-01-01T00:00:35.000Z', true);
        const sameTime = delivery('d-2', 1, '2026-01-01T00:00:05.000Z', true);
        await store.addWebhookDelivery(d3);
        await store.addWebhookDelivery(d2);
        await store.addWebhookDelivery(sameTime);
        await store.addWebhookDelivery(d1);
        await store.addWebhookDelivery({
          ...delivery('d-9', 1, '2026-01-01T00:00:01.000Z', true),
          job_id: 'job-2',
        });
        assert.deepEqual(await store.listWebhookDeliveries('job-1'), [d1, sameTime, d2, d3]);
        assert.deepEqual(await store.listWebhookDeliveries('job-3'), []);
      });

      void it('re-adding a (delivery_id, attempt) replaces it', async () => {
        await store.addWebhookDelivery(delivery('d-1', 1, '2026-01-01T00:00:00.000Z', false));
        const done = {
          ...delivery('d-1', 1, '2026-01-01T00:00:00.000Z', true),
          status_code: 204,
          error: null,
        };
        await store.addWebhookDelivery(done);
        assert.deepEqual(await store.listWebhookDeliveries('job-1'), [done]);
      });
    });

    void describe('blobs', () => {
      void it('put, get, overwrite and delete', async () => {
        const a = Uint8Array.from([0, 1, 2, 255, 254]);
        await blobs.put('job-1/item-0', a);
        assert.deepEqual(await blobs.get('job-1/item-0'), Buffer.from(a));
        const big = Buffer.alloc(600_000, 7); // several GridFS chunks
        big[599_999] = 9;
        await blobs.put('job-1/item-0', big);
        assert.deepEqual(await blobs.get('job-1/item-0'), big);
        await blobs.put('job-1/item-1', new Uint8Array(0));
        assert.deepEqual(await blobs.get('job-1/item-1'), Buffer.alloc(0));

        await blobs.delete('job-1/item-0');
        assert.equal(await blobs.get('job-1/item-0'), undefined);
        await blobs.delete('job-1/item-0');
        assert.equal(await blobs.get('job-9/item-0'), undefined);
        assert.deepEqual(await blobs.get('job-1/item-1'), Buffer.alloc(0));
      });

      void it('10 concurrent puts of one key leave exactly one of them, whole', async () => {
        // A retried item overlapping its first attempt writes the same key twice at once.
        const versions = Array.from({ length: 10 }, (_, i) => Buffer.alloc(300_000 + i, i + 1));
        await Promise.all(versions.map((v) => blobs.put('job-1/same-0', v)));
        const got = await blobs.get('job-1/same-0');
        assert.ok(got, 'a blob remains');
        assert.ok(
          versions.some((v) => v.equals(got)),
          `one of the versions, whole (${got.length} bytes)`,
        );
        await blobs.delete('job-1/same-0');
        assert.equal(await blobs.get('job-1/same-0'), undefined);
      });

      void it('deletePrefix deletes a job’s blobs and says how many', async () => {
        for (const k of ['job-1/a-0', 'job-1/b-0', 'job-1/c-1', 'job-10/a-0', 'job-2/a-0']) {
          await blobs.put(k, Buffer.from(k));
        }
        assert.equal(await blobs.deletePrefix('job-1'), 3);
        assert.equal(await blobs.get('job-1/a-0'), undefined);
        assert.equal(await blobs.get('job-1/c-1'), undefined);
        assert.deepEqual(await blobs.get('job-10/a-0'), Buffer.from('job-10/a-0'));
        assert.deepEqual(await blobs.get('job-2/a-0'), Buffer.from('job-2/a-0'));
        assert.equal(await blobs.deletePrefix('job-1'), 0);
        assert.equal(await blobs.deletePrefix('job-404'), 0);
      });
    });
  });
}

/** Attendance times: minutes after T0, as ISO strings. */
const T0 = Date.parse('2026-03-02T09:00:00.000Z');
const WINDOW = 5 * 60_000;
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();
const round4 = (v: number) => Math.round(v * 10000) / 10000;

/**
 * A match of u1 on cam-1, `minutes` after T0: confirming (distance 0.2, at most 0.3) but not
 * strong (over 0.15): two of them confirm a record, one does not.
 */
function sighting(id: string, minutes: number, over: Partial<Sighting> = {}): Sighting {
  return {
    sighting_id: id,
    kind: 'match',
    user_id: 'u1',
    name: 'Name u1',
    group: 'g1',
    camera_id: 'cam-1',
    captured_at: at(minutes),
    similarity: 0.8,
    distance: 0.2,
    margin: 0.25,
    threshold: 0.59,
    confirm_threshold: 0.3,
    strong_threshold: 0.15,
    bbox: { x: 10, y: 20, width: 100, height: 120 },
    thumbnail: `thumbs/${id}.jpg`,
    embedding: null,
    job_id: 'job-1',
    ...over,
  };
}

/** `f` started after `ms` milliseconds: calls that overlap in a known order. */
async function later<T>(ms: number, f: () => Promise<T>): Promise<T> {
  await sleep(ms);
  return f();
}

function user(id: string, group: string | null = 'g1'): UserInput {
  return { user_id: id, name: `Name ${id}`, group, metadata: { source: 'test' } };
}

/** Deterministic, distinct per seed. */
function embedding(seed: number): Float32Array {
  return Float32Array.from({ length: 512 }, (_, i) => Math.sin((i + 1) * seed * 0.731) / 22.6);
}

function template(photo: string, emb: Float32Array = embedding(1)): TemplateInput {
  return {
    model: 'arcface-test',
    embedding: emb,
    detection_score: 0.97,
    quality: { face_size: 180, sharpness: 42.5 },
    photo_sha256: photo,
  };
}

function bytes(v: Float32Array): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

function job(id: string): BatchJob {
  return {
    job_id: id,
    type: 'enrollment',
    total: 3,
    status: 'queued',
    created_at: '2026-01-01T00:00:00.000Z',
    started_at: null,
    finished_at: null,
    webhook_url: 'https://example.com/hook',
    webhook_secret: 'whsec_dGVzdA==',
    photos: 'stored',
    failure_reason: null,
  };
}

function item(jobId: string, index: number, ok: boolean, outcome: string): ItemResult {
  return {
    job_id: jobId,
    index,
    ref: index % 3 === 0 ? null : `ref-${index}`,
    outcome,
    ok,
    detail: ok ? { index } : { error: { code: outcome } },
    finished_at: `2026-01-01T00:00:${String(10 + index).padStart(2, '0')}.000Z`,
  };
}

function delivery(id: string, attempt: number, at: string, delivered: boolean): WebhookDelivery {
  return {
    delivery_id: id,
    job_id: 'job-1',
    event: 'batch.completed',
    url: 'https://example.com/hook',
    attempt,
    status_code: delivered ? 200 : 503,
    error: delivered ? null : 'HTTP 503',
    delivered,
    at,
  };
}
