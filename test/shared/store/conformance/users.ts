import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import type { GalleryEntry, Store, UserInput } from '../../../../src/shared/store/store.js';
import { later, user, embedding, template, bytes, GALLERY_ENTRY_KEYS, pagesOf } from './fixtures.js';

/** Users and templates (repositories/users.ts): enrollment, erasure and its tombstone, the gallery. */
export function usersConformance(current: () => Store): void {
  void describe('UserRepository', () => {
    let store: Store;
    beforeEach(() => {
      store = current();
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
          assert.deepEqual(Object.keys(e).sort(), GALLERY_ENTRY_KEYS);
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
        const pages = await pagesOf((cursor) => store.listUsers({ limit: 2, ...(cursor ? { cursor } : {}) }));
        for (const u of pages.flat()) assert.equal(u.templates.length, 1);
        assert.deepEqual(
          pages.map((p) => p.map((u) => u.user_id)),
          [['u1', 'u2'], ['u3', 'u4'], ['u5']],
        );

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

      void it('listGroups counts each group’s users, by name, the ungrouped last; [] when empty', async () => {
        assert.deepEqual(await store.listGroups(), []);
        const people = [
          ['u1', 'site-b'],
          ['u2', 'site-a'],
          ['u3', 'site-b'],
          ['u4', null],
          ['u5', 'site-b'],
        ] as const;
        for (const [id, group] of people) {
          await store.enroll(user(id, group), template(`${id}-a`), 'add');
          await store.enroll(user(id, null), template(`${id}-b`), 'add'); // keeps the group, adds a template
        }
        assert.deepEqual(await store.listGroups(), [
          { group: 'site-a', users: 1 },
          { group: 'site-b', users: 3 },
          { group: null, users: 1 },
        ]);
        await store.deleteUser('u2');
        assert.deepEqual(await store.listGroups(), [
          { group: 'site-b', users: 3 },
          { group: null, users: 1 },
        ]);
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
        const pages: GalleryEntry[][] = await pagesOf((cursor) =>
          store.galleryPage({ limit: 2, ...(cursor ? { cursor } : {}) }),
        );
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
          assert.deepEqual(Object.keys(e).sort(), GALLERY_ENTRY_KEYS);
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
          assert.deepEqual(Object.keys(e).sort(), GALLERY_ENTRY_KEYS);
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
  });
}
