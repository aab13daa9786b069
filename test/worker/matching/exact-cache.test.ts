/**
 * The exact step's embeddings in memory (ExactCache in front of the store), through the
 * GalleryIndex that uses it: the same answers with fewer store reads, within its byte budget,
 * and an erased person's embeddings gone from memory, also when a store read was in flight.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { GalleryEntry } from '../../../src/shared/store/index.js';
import { mulberry32 } from '../../../src/shared/prng.js';
import { GalleryIndex, type ExactLookup } from '../../../src/worker/matching/gallery-index.js';

const DIM = 512;
/** What one cached template costs (exact-cache.ts): 2048 B of floats, its id, the entry. */
const ENTRY = 2048 + 2 * 'u000-t0'.length + 128;

function unit(seed: number): Float32Array {
  const rand = mulberry32(seed * 2654435761);
  const v = Float32Array.from({ length: DIM }, () => rand() - 0.5);
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

/** 200 users of 2 templates each, and a store that counts the templates it is asked for. */
function setup(exactCacheBytes: number, lookup?: (ids: string[]) => Promise<void>) {
  const vectors = new Map<string, Float32Array>();
  const entries: GalleryEntry[] = [];
  for (let u = 0; u < 200; u++) {
    for (let t = 0; t < 2; t++) {
      const template_id = `u${String(u).padStart(3, '0')}-t${t}`;
      const embedding = unit(u * 10 + t + 1);
      vectors.set(template_id, embedding);
      entries.push({ template_id, model: 'm', user_id: `u${u}`, name: `U ${u}`, group: null, embedding });
    }
  }
  const reads: string[] = [];
  const store: ExactLookup = async (ids) => {
    reads.push(...ids);
    await lookup?.(ids);
    return new Map(ids.flatMap((id) => (vectors.has(id) ? [[id, vectors.get(id) as Float32Array]] : [])));
  };
  const index = new GalleryIndex(DIM, store, { exactCacheBytes });
  index.add(entries);
  return { index, entries, reads };
}

describe('ExactCache in front of the store', () => {
  it('a gallery that fits is searched without a store read, with the answers of the uncached index', async () => {
    const cached = setup(64 * 2 ** 20);
    const plain = setup(0);
    for (let q = 0; q < 20; q++) {
      const query = unit(q * 10 + 1); // user q's first template
      const options = { topK: 5, excludeUserId: `u${q + 1}` };
      assert.deepEqual(await cached.index.search(query, options), await plain.index.search(query, options));
    }
    assert.equal(cached.reads.length, 0);
    assert.ok(plain.reads.length >= 20 * 32, String(plain.reads.length));
    assert.equal(cached.index.exactCache.size, 400);
  });

  it('a bulk load fills the cache while it has room and never evicts; searches then cache what they read', async () => {
    const { index, reads } = setup(100 * ENTRY);
    assert.equal(index.exactCache.size, 100);
    assert.ok(index.exactCache.has('u000-t0') && !index.exactCache.has('u199-t1'));
    await index.search(unit(199 * 10 + 1), { topK: 1 });
    assert.ok(reads.includes('u199-t0'));
    assert.ok(index.exactCache.has('u199-t0'));
    assert.ok(index.exactCache.bytes <= 100 * ENTRY, String(index.exactCache.bytes));
    // The index's memory figure counts the cache.
    assert.ok(index.bytes >= index.exactCache.bytes + 400 * 64);
  });

  it("an erased person's embeddings leave memory with their templates", async () => {
    const { index } = setup(64 * 2 ** 20);
    assert.ok(index.exactCache.has('u007-t0') && index.exactCache.has('u007-t1'));
    index.replaceUser('u7', []);
    assert.ok(!index.exactCache.has('u007-t0') && !index.exactCache.has('u007-t1'));
    const [best] = await index.search(unit(7 * 10 + 1), { topK: 1 });
    assert.notEqual(best?.user_id, 'u7');
    assert.ok(!index.exactCache.has('u007-t0'));
  });

  it('a store read in flight while a person is erased leaves none of its embeddings in memory', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    let asked: () => void = () => undefined;
    const readStarted = new Promise<void>((r) => (asked = r));
    const { index } = setup(64 * 2 ** 20, async () => {
      asked();
      await gate;
    });
    index.exactCache.clear(); // nothing in memory: the search must read the store
    const search = index.search(unit(7 * 10 + 1), { topK: 1 });
    await readStarted;
    index.replaceUser('u7', []); // the erasure, while the read is out
    release();
    await search;
    assert.ok(!index.exactCache.has('u007-t0') && !index.exactCache.has('u007-t1'));
  });

  it('with a budget of 0 every exact read goes to the store and nothing is kept', async () => {
    const { index, reads } = setup(0);
    await index.search(unit(1), { topK: 1 });
    await index.search(unit(1), { topK: 1 });
    assert.equal(index.exactCache.size, 0);
    assert.equal(index.exactCache.bytes, 0);
    assert.ok(reads.length >= 64);
  });
});
