/**
 * GallerySync across replicas: two syncs (two workers) over one SQLite file and one Redis
 * stream. A change committed to the store and announced on the stream reaches the other
 * replica within its check interval (250 ms); a replica started later loads the whole gallery
 * (several pages) and loses no change made while it was loading.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { publishGalleryChange } from '../../../src/shared/gallery-stream.js';
import type { GalleryEntry, Store } from '../../../src/shared/store/index.js';
import { sqliteStore } from '../../../src/shared/store/sqlite-store.js';
import { GallerySync } from '../../../src/worker/matching/gallery-sync.js';
import { mulberry32 } from '../../../src/shared/prng.js';
import { freshPrefix, REDIS_URL } from '../../helpers/service.js';

const DIM = 512;

function unit(seed: number): Float32Array {
  const rand = mulberry32(seed * 2654435761);
  const v = Float32Array.from({ length: DIM }, () => rand() - 0.5);
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

/** A store that, once, makes changes right after handing out its first gallery page. */
type RacyStore = Store & { duringLoad: ((firstPage: GalleryEntry[]) => Promise<void>) | undefined };
function racyStore(path: string): RacyStore {
  const store = sqliteStore(path);
  const racy: RacyStore = {
    ...store,
    duringLoad: undefined,
    async galleryPage(q) {
      const page = await store.galleryPage(q);
      const hook = racy.duringLoad;
      racy.duringLoad = undefined;
      await hook?.(page.items);
      return page;
    },
  };
  return racy;
}

const vectors = new Map<string, Float32Array>();
let seed = 1;
async function enroll(store: Store, userId: string, templates = 1): Promise<void> {
  for (let t = 0; t < templates; t++) {
    const embedding = unit(seed++);
    if (t === 0) vectors.set(userId, embedding);
    await store.enroll(
      { user_id: userId, name: `Name ${userId}`, group: null, metadata: {} },
      {
        model: 'test',
        embedding,
        detection_score: 0.99,
        quality: { face_size: 100, sharpness: 50 },
        photo_sha256: `${userId}-${t}`,
      },
      'add',
    );
  }
}

/** The user nearest to the user's own first template, as this replica sees it. */
async function top(sync: GallerySync, userId: string): Promise<string | undefined> {
  const [hit] = await sync.search(vectors.get(userId) as Float32Array, { topK: 1 });
  return hit?.user_id;
}

/** Polls until `check` holds; returns how long that took (ms). */
async function within(limitMs: number, what: string, check: () => Promise<boolean>): Promise<number> {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > limitMs) throw new Error(`${what}: not within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return performance.now() - started;
}

const dir = mkdtempSync(join(tmpdir(), 'shelia-gallery-sync-'));
const file = join(dir, 'shelia.db');
const streamKey = `${freshPrefix('gallery-sync')}:gallery:changes`;
const stores: Store[] = [];
const redises: Redis[] = [];
const replica = async (store: Store = sqliteStore(file)) => {
  await store.init();
  stores.push(store);
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  redises.push(redis);
  return { store, redis, sync: new GallerySync(store, redis, streamKey, DIM) };
};

let a: Awaited<ReturnType<typeof replica>>;
let b: Awaited<ReturnType<typeof replica>>;

before(async () => {
  a = await replica();
  b = await replica();
  for (let u = 0; u < 20; u++) await enroll(a.store, `seed-${u}`, 1 + (u % 3));
  await a.sync.fresh();
  await b.sync.fresh();
  assert.equal(b.sync.index.size, 20 + 19); // 1 + (u % 3) templates each
});

after(async () => {
  await redises[0]?.del(streamKey);
  for (const r of redises) await r.quit();
  for (const s of stores) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('GallerySync across two replicas', () => {
  it('an enrollment announced by replica a is searchable on a at once and on b within ~300 ms (one 250 ms check)', async (t) => {
    await b.sync.fresh(); // b has just checked: the worst case, a full check interval to wait
    await enroll(a.store, 'new-1');
    await a.sync.changed('new-1');
    assert.equal(await top(a.sync, 'new-1'), 'new-1');
    const ms = await within(1000, 'b sees new-1', async () => (await top(b.sync, 'new-1')) === 'new-1');
    assert.ok(ms <= 350, `b saw the enrollment after ${ms.toFixed(0)} ms`);
    t.diagnostic(`b found the new user after ${ms.toFixed(0)} ms`);
    const [hit] = await b.sync.search(vectors.get('new-1') as Float32Array, { topK: 1 });
    assert.ok(Math.abs(hit?.distance ?? 1) < 1e-6);
  });

  it('announcing a change costs this replica one round trip: one XADD and one XRANGE on the stream, no read of its empty tail after', async () => {
    // Redis's own MONITOR feed, filtered to this run's stream key, says what reached the server.
    const client = new Redis(REDIS_URL);
    const monitor = await client.monitor();
    const seen: string[] = [];
    const mark = `mark-${Date.now()}`;
    let marked: () => void = () => undefined;
    const done = new Promise<void>((r) => (marked = r));
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args[1] === streamKey) seen.push(String(args[0]).toLowerCase());
      if (args[1] === mark) marked();
    });
    try {
      await enroll(a.store, 'one-trip');
      await a.sync.changed('one-trip');
      await a.redis.echo(mark);
      await done;
      assert.deepEqual(seen, ['xadd', 'xrange']);
      assert.equal(await top(a.sync, 'one-trip'), 'one-trip');
    } finally {
      monitor.disconnect();
      await client.quit();
    }
  });

  it('an erasure (deleteUser + publishGalleryChange) leaves both replicas within 1 s', async () => {
    await enroll(a.store, 'gone-1', 2);
    await a.sync.changed('gone-1');
    await within(1000, 'b sees gone-1', async () => (await top(b.sync, 'gone-1')) === 'gone-1');
    const sizeBefore = b.sync.index.size;
    assert.ok(await b.store.deleteUser('gone-1'));
    await publishGalleryChange(b.redis, streamKey, 'gone-1'); // as the API's erasure does
    for (const r of [a, b]) {
      // The exact re-rank reads the store, so search drops an erased user at once; the index
      // itself must drop its templates within a check interval.
      await within(1000, 'gone-1 out of the index', async () => {
        await r.sync.fresh();
        return r.sync.index.size === sizeBefore - 2;
      });
      const found = await r.sync.search(vectors.get('gone-1') as Float32Array, { topK: 100 });
      assert.ok(!found.some((c) => c.user_id === 'gone-1'));
    }
    assert.equal(b.sync.index.size, sizeBefore - 2);
    assert.equal(await top(b.sync, 'new-1'), 'new-1');
  });

  it('converges after a burst of changes to one user from both replicas (enroll, erase, enroll)', async () => {
    await enroll(a.store, 'flip', 1);
    await publishGalleryChange(a.redis, streamKey, 'flip');
    await a.store.deleteUser('flip');
    await publishGalleryChange(b.redis, streamKey, 'flip');
    await enroll(b.store, 'flip', 1); // a new face for the same id
    await publishGalleryChange(b.redis, streamKey, 'flip');
    for (const r of [a, b])
      await within(1000, 'flip has its new face', async () => (await top(r.sync, 'flip')) === 'flip');
    const old = await a.sync.search(unit(seed - 2), { topK: 5 });
    assert.ok(
      !old.some((c) => c.user_id === 'flip' && c.distance < 0.5),
      'the erased face is still searchable',
    );
  });
});

describe('GallerySync started after the changes', () => {
  it('loads everything (two pages) and keeps changes made while it was loading', async () => {
    // LOAD_PAGE is 5000 templates: 5100 more make the load take two pages.
    const bulk = Array.from({ length: 5100 }, (_, u) => `bulk-${u}`);
    for (const u of bulk) await enroll(a.store, u);
    await Promise.all(bulk.map((u) => publishGalleryChange(a.redis, streamKey, u)));
    await enroll(a.store, 'victim');
    await a.sync.changed('victim');
    const racy = racyStore(file);
    const c = await replica(racy);
    let victim = '';
    racy.duringLoad = async (firstPage) => {
      // Another worker enrolls one person and erases one the loader has already read.
      await enroll(a.store, 'during-load');
      await publishGalleryChange(a.redis, streamKey, 'during-load');
      victim = firstPage[0]?.user_id ?? '';
      await a.store.deleteUser(victim);
      await publishGalleryChange(a.redis, streamKey, victim);
    };
    const index = await c.sync.fresh();
    assert.notEqual(victim, '');
    assert.equal(racy.duringLoad, undefined, 'the load did not read a page');
    const templates = (await a.store.gallery()).length;
    assert.equal(index.size, templates);
    assert.equal(await top(c.sync, 'during-load'), 'during-load');
    assert.notEqual(await top(c.sync, victim), victim);
    assert.notEqual(await top(c.sync, 'gone-1'), 'gone-1');
    const users = ['new-1', 'flip', 'seed-0', 'seed-19', 'bulk-0', 'bulk-4999', 'bulk-5000', 'bulk-5099'];
    users.push(...bulk.filter((_, u) => u % 97 === 0));
    for (const u of users.filter((x) => x !== victim)) assert.equal(await top(c.sync, u), u);
    // And the replicas that were running all along replay the same changes.
    for (const r of [a, b])
      await within(1000, 'a/b in step', async () => {
        await r.sync.fresh();
        return r.sync.index.size === templates && (await top(r.sync, 'during-load')) === 'during-load';
      });
  });
});
