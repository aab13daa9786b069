/**
 * GalleryIndex on synthetic unit vectors: the int8 scan plus exact re-rank must give exactly
 * what a float brute force gives (same users, same order, distances 1 - dot), one entry per
 * user, the right groups, and stay correct through removals (swap-remove) and growth.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { GalleryEntry } from '../../../src/shared/store/index.js';
import {
  AUTO_PREFILTER_FROM,
  GalleryIndex,
  type Candidate,
  type GalleryIndexOptions,
} from '../../../src/worker/matching/gallery-index.js';
import { mulberry32 } from '../../../src/shared/prng.js';
import { codeTable, jsKernels } from '../../../src/worker/matching/native-codes.js';
import {
  codeBytes,
  DEFAULT_INT8_RANGE,
  int8Scale,
  quantize,
  signCode,
} from '../../../src/worker/matching/quantize.js';

const DIM = 512;

/** A deterministic random unit vector (Box-Muller on mulberry32). */
function unit(seed: number): Float32Array {
  const rand = mulberry32(seed * 2654435761);
  const v = new Float32Array(DIM);
  for (let i = 0; i < DIM; i += 2) {
    const r = Math.sqrt(-2 * Math.log(rand() + 1e-12));
    const th = 2 * Math.PI * rand();
    v[i] = r * Math.cos(th);
    v[i + 1] = r * Math.sin(th);
  }
  return normalise(v);
}

function normalise(v: Float32Array): Float32Array {
  let s = 0;
  for (const x of v) s += x * x;
  const n = Math.sqrt(s);
  return v.map((x) => x / n);
}

/** `base` mixed with fresh noise: cosine similarity ~`keep` to base (a new photo of the person). */
function near(base: Float32Array, seed: number, keep = 0.7): Float32Array {
  const noise = unit(seed);
  return normalise(base.map((x, i) => keep * x + Math.sqrt(1 - keep * keep) * (noise[i] as number)));
}

/** Exact dot product in float64 over the float32 components. */
function dot64(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

/** An index whose exact lookup reads this map (as the worker reads the store). */
function makeIndex(options: GalleryIndexOptions = {}): {
  index: GalleryIndex;
  vectors: Map<string, Float32Array>;
} {
  const vectors = new Map<string, Float32Array>();
  const index = new GalleryIndex(
    DIM,
    (ids) =>
      Promise.resolve(
        new Map(ids.flatMap((id) => (vectors.has(id) ? [[id, vectors.get(id) as Float32Array]] : []))),
      ),
    options,
  );
  return { index, vectors };
}

function entry(
  vectors: Map<string, Float32Array>,
  user: string,
  t: number,
  group: string | null,
  v: Float32Array,
) {
  const e: GalleryEntry = {
    template_id: `${user}-t${t}`,
    model: 'test',
    user_id: user,
    name: `Name ${user}`,
    group,
    embedding: v,
  };
  vectors.set(e.template_id, v);
  return e;
}

/** Float brute force: every user's best template, nearest first. */
function bruteForce(entries: GalleryEntry[], q: Float32Array, k: number, group?: string | null) {
  const best = new Map<string, number>();
  for (const e of entries) {
    if (group !== undefined && e.group !== group) continue;
    const s = dot64(q, e.embedding);
    if (s > (best.get(e.user_id) ?? -Infinity)) best.set(e.user_id, s);
  }
  return [...best].sort((a, b) => b[1] - a[1]).slice(0, k);
}

const GROUPS = ['a', 'b', null] as const;

/** 300 users in groups a, b and none, 3 templates each: the base vector and two near copies. */
function gallery(options: GalleryIndexOptions = {}) {
  const { index, vectors } = makeIndex(options);
  const bases = new Map<string, Float32Array>();
  const entries: GalleryEntry[] = [];
  for (let u = 0; u < 300; u++) {
    const user = `u${u}`;
    const base = unit(u + 1);
    bases.set(user, base);
    const group = GROUPS[u % 3] ?? null;
    entries.push(entry(vectors, user, 0, group, base));
    entries.push(entry(vectors, user, 1, group, near(base, 10_000 + u, 0.8)));
    entries.push(entry(vectors, user, 2, group, near(base, 20_000 + u, 0.8)));
  }
  index.add(entries);
  return { index, vectors, bases, entries };
}

const ids = (c: Candidate[]) => c.map((x) => x.user_id);

describe('GalleryIndex search', () => {
  it('matches a float brute force: same top-k users, exact distances (1 - dot)', async () => {
    const { index, bases, entries, vectors } = gallery();
    assert.equal(index.size, 900);
    for (let q = 0; q < 60; q++) {
      // Half noisy copies of enrolled people, half random faces (near-ties among strangers).
      const query = q % 2 ? near(bases.get(`u${q * 5}`) as Float32Array, 50_000 + q) : unit(90_000 + q);
      const got = await index.search(query, { topK: 5 });
      const want = bruteForce(entries, query, 5);
      assert.deepEqual(
        ids(got),
        want.map(([u]) => u),
        `query ${q}`,
      );
      for (const [i, c] of got.entries()) {
        const exact = dot64(query, vectors.get(c.template_id) as Float32Array);
        assert.ok(Math.abs(c.similarity - exact) < 1e-9, `similarity ${c.similarity} vs ${exact}`);
        assert.ok(Math.abs(c.distance - (1 - exact)) < 1e-9);
        assert.ok(Math.abs(c.similarity - (want[i]?.[1] ?? NaN)) < 1e-9, 'the best template of the user');
        assert.equal(c.name, `Name ${c.user_id}`);
      }
    }
  });

  it('scans whole groups under 4,194,304 templates by default and keeps 1 % of larger ones by the head plane', () => {
    const index = new GalleryIndex(DIM, () => Promise.resolve(new Map<string, Float32Array>()));
    assert.equal(index.prefilter, 'auto');
    assert.equal(index.keptByHead(1_000_000), 1_000_000, '1M: the exact Hamming shortlist');
    assert.equal(index.keptByHead(AUTO_PREFILTER_FROM - 1), AUTO_PREFILTER_FROM - 1);
    assert.equal(index.keptByHead(10_000_000), 100_000);
    assert.equal(index.keptByHead(3000), 3000, 'never more than the group');
    const all = new GalleryIndex(DIM, () => Promise.resolve(new Map<string, Float32Array>()), {
      prefilter: Number.POSITIVE_INFINITY,
    });
    assert.equal(all.keptByHead(10_000_000), 10_000_000, 'GALLERY_PREFILTER=0: every row');
    const fixed = new GalleryIndex(DIM, () => Promise.resolve(new Map<string, Float32Array>()), {
      prefilter: 1000,
      shortlist: 5000,
    });
    assert.equal(fixed.keptByHead(10_000_000), 5000, 'at least the shortlist');
  });

  it('narrows by the head plane first (prefilter 60 of 900, shortlist 30) and still finds the noisy copies', async () => {
    const { index, bases, entries } = gallery({ prefilter: 60, shortlist: 30, rerank: 30 });
    for (let q = 0; q < 40; q++) {
      const user = `u${q * 7}`;
      const query = near(bases.get(user) as Float32Array, 60_000 + q);
      const e = index.explain(query, 5);
      assert.equal(e.shortlist.length, 90, '30 in each of the 3 groups');
      assert.ok(e.shortlist.includes(`${user}-t0`), `query ${q}: ${user}'s base in the shortlist`);
      const [hit] = await index.search(query, { topK: 5 });
      assert.equal(hit?.user_id, bruteForce(entries, query, 1)[0]?.[0], `query ${q}`);
    }
  });

  it('re-ranks by int8 only the code score best (rerank 60 of a shortlist 200) and reads those rows exactly', async () => {
    const { index, bases, entries } = gallery({ shortlist: 200, rerank: 60 });
    for (let q = 0; q < 40; q++) {
      const user = `u${q * 7}`;
      const query = near(bases.get(user) as Float32Array, 70_000 + q);
      const e = index.explain(query, 5);
      assert.equal(e.shortlist.length, 180, 'the 60 code-score best in each of the 3 groups');
      assert.equal(e.reads.length, 40, 'max(32, 8 * topK) of them read exactly');
      assert.ok(e.shortlist.includes(`${user}-t0`), `query ${q}: ${user}'s base kept for int8`);
      const [hit] = await index.search(query, { topK: 5 });
      assert.equal(hit?.user_id, bruteForce(entries, query, 1)[0]?.[0], `query ${q}`);
    }
  });

  it("without int8 (the 10M layout) reads the exactReads best code scores of the groups' Hamming shortlists, in order, and finds what brute force finds", async () => {
    const { index, bases, entries } = gallery({ int8: false, shortlist: 60, exactReads: 40 });
    // The expectation from the kernels' JavaScript reference: each group's 60 Hamming-nearest
    // (groups in the order they were first seen), their asymmetric code scores, the 40 best of
    // all (ties: the first).
    const groups = new Map<string | null, GalleryEntry[]>();
    for (const e of entries) groups.set(e.group, [...(groups.get(e.group) ?? []), e]);
    for (let q = 0; q < 20; q++) {
      const user = `u${q * 11}`;
      const query = near(bases.get(user) as Float32Array, 80_000 + q);
      const code = new Uint8Array(codeBytes(DIM));
      signCode(query, code);
      const q8 = new Int8Array(DIM);
      quantize(query, q8, 0, int8Scale(DEFAULT_INT8_RANGE));
      const table = codeTable(q8);
      const scored: { id: string; score: number }[] = [];
      for (const list of groups.values()) {
        const codes = new Uint8Array(list.length * codeBytes(DIM));
        list.forEach((e, i) => signCode(e.embedding, codes.subarray(i * 64, i * 64 + 64)));
        const rows = jsKernels.hammingTopK(codes, list.length, code, 60).subarray(0, 60);
        const scores = jsKernels.codeDots(codes, 64, rows, table);
        rows.forEach((r, i) =>
          scored.push({ id: (list[r] as GalleryEntry).template_id, score: scores[i] as number }),
        );
      }
      const cut = scored.map((x) => x.score).sort((a, b) => b - a)[39] as number;
      let ties = 40 - scored.filter((x) => x.score > cut).length;
      const want = scored.filter((x) => x.score > cut || (x.score === cut && ties-- > 0)).map((x) => x.id);
      assert.deepEqual(index.explain(query, 5).reads, want, `query ${q}`);
      const [hit] = await index.search(query, { topK: 5 });
      assert.equal(hit?.user_id, bruteForce(entries, query, 1)[0]?.[0], `query ${q}`);
    }
  });

  it('returns one entry per user (its best template) even with 3 templates each', async () => {
    const { index, bases } = gallery();
    const query = bases.get('u7') as Float32Array;
    const got = await index.search(query, { topK: 50 });
    assert.equal(got.length, 50);
    assert.equal(new Set(ids(got)).size, 50);
    assert.equal(got[0]?.user_id, 'u7');
    assert.equal(got[0]?.template_id, 'u7-t0');
    assert.ok(Math.abs(got[0]?.distance ?? 1) < 1e-6);
    // More than there are users: every user once.
    assert.equal((await index.search(query, { topK: 1000 })).length, 300);
  });

  it('filters by group: a only a, undefined every group, null the templates without one', async () => {
    const { index, bases, entries } = gallery();
    const groupOf = (u: string) => GROUPS[Number(u.slice(1)) % 3];
    for (const q of [0, 1, 2, 33, 64, 95]) {
      const query = near(bases.get(`u${q}`) as Float32Array, 70_000 + q);
      for (const group of ['a', 'b', null] as const) {
        const got = await index.search(query, { topK: 10, group });
        assert.equal(got.length, 10);
        assert.ok(got.every((c) => c.group === group && groupOf(c.user_id) === group));
        assert.deepEqual(
          ids(got),
          bruteForce(entries, query, 10, group).map(([u]) => u),
        );
      }
      const all = await index.search(query, { topK: 10 });
      assert.deepEqual(
        ids(all),
        bruteForce(entries, query, 10).map(([u]) => u),
      );
      assert.equal(all[0]?.user_id, `u${q}`);
    }
    assert.deepEqual(await index.search(unit(5), { topK: 5, group: 'nobody' }), []);
  });

  it('leaves out excludeUserId', async () => {
    const { index, bases } = gallery();
    const query = bases.get('u12') as Float32Array;
    const got = await index.search(query, { topK: 5, excludeUserId: 'u12' });
    assert.equal(got.length, 5);
    assert.ok(!ids(got).includes('u12'));
    assert.equal((await index.search(query, { topK: 1 }))[0]?.user_id, 'u12');
  });
});

describe('GalleryIndex changes', () => {
  /** Every user in `users` is its own nearest neighbour at distance ~0, in its group. */
  async function allFound(index: GalleryIndex, bases: Map<string, Float32Array>, users: string[]) {
    for (const u of users) {
      const [hit] = await index.search(bases.get(u) as Float32Array, { topK: 1 });
      assert.equal(hit?.user_id, u);
      assert.ok(Math.abs(hit?.distance ?? 1) < 1e-6, `${u} at ${hit?.distance}`);
    }
  }

  it('replaceUser with [] removes the user; swap-remove from the middle keeps everyone else findable', async () => {
    const { index, bases } = gallery();
    const gone = ['u0', 'u3', 'u150', 'u151', 'u152', 'u298', 'u299'];
    for (const u of gone) index.replaceUser(u, []);
    assert.equal(index.size, 900 - 3 * gone.length);
    for (const u of gone) {
      const got = await index.search(bases.get(u) as Float32Array, { topK: 20 });
      assert.ok(!ids(got).includes(u), `${u} still found`);
    }
    const kept = [...bases.keys()].filter((u) => !gone.includes(u));
    await allFound(index, bases, kept);
    index.replaceUser('u0', []); // again: nothing to remove
    assert.equal(index.size, 900 - 3 * gone.length);
  });

  it('replaceUser swaps templates and moves a user between groups', async () => {
    const { index, bases, vectors } = gallery();
    const fresh = unit(123_456);
    bases.set('u1', fresh);
    index.replaceUser('u1', [entry(vectors, 'u1', 9, 'b', fresh)]); // u1 was in group a
    assert.equal(index.size, 898);
    assert.ok(!ids(await index.search(fresh, { topK: 100, group: 'a' })).includes('u1'));
    const [hit] = await index.search(fresh, { topK: 1, group: 'b' });
    assert.deepEqual([hit?.user_id, hit?.template_id, hit?.group], ['u1', 'u1-t9', 'b']);
    await allFound(index, bases, [...bases.keys()]);
  });

  it('grows past the initial capacity (1024 rows) and stays exact after removals', async () => {
    const { index, vectors } = makeIndex();
    const bases = new Map<string, Float32Array>();
    const add: GalleryEntry[] = [];
    for (let u = 0; u < 2600; u++) {
      const v = unit(500_000 + u);
      bases.set(`g${u}`, v);
      add.push(entry(vectors, `g${u}`, 0, 'big', v));
    }
    index.add(add.slice(0, 1000));
    for (const e of add.slice(1000)) index.replaceUser(e.user_id, [e]);
    assert.equal(index.size, 2600);
    assert.ok(index.bytes >= 2600 * DIM);
    const sample = [...bases.keys()].filter((_, i) => i % 13 === 0 || i > 2590 || (i > 1018 && i < 1030));
    await allFound(index, bases, sample);
    for (let u = 1000; u < 1100; u++) {
      index.replaceUser(`g${u}`, []);
      bases.delete(`g${u}`);
    }
    assert.equal(index.size, 2500);
    await allFound(
      index,
      bases,
      [...bases.keys()].filter((_, i) => i % 7 === 0 || i > 2490),
    );
  });
});
