/**
 * A worker's start-up from its gallery snapshot, over a real SQLite store and Redis stream:
 * changes made while it was down (an enrollment, an erasure) are replayed on top of the
 * snapshot, so an erased user is not answerable; a snapshot the stream was trimmed past, a
 * corrupt one, one of another model or of a stream that is gone make it load the store instead
 * (and write a good snapshot again).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { publishGalleryChange } from '../../../src/shared/gallery-stream.js';
import { sqliteStore } from '../../../src/shared/store/sqlite-store.js';
import { mulberry32 } from '../../../src/shared/prng.js';
import { GallerySync, type GallerySyncOptions } from '../../../src/worker/matching/gallery-sync.js';
import { freshPrefix, REDIS_URL } from '../../helpers/service.js';

const DIM = 512;
const dir = mkdtempSync(join(tmpdir(), 'shelia-gallery-startup-'));
const snapshotPath = join(dir, 'gallery', 'test.snapshot');
const streamKey = `${freshPrefix('gallery-startup')}:gallery:changes`;
const store = sqliteStore(join(dir, 'shelia.db'));
const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
const faces = new Map<string, Float32Array>();

function unit(seed: number): Float32Array {
  const rand = mulberry32(seed * 2654435761);
  const v = Float32Array.from({ length: DIM }, () => rand() - 0.5);
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

let seed = 1;
async function enroll(userId: string, announce = true): Promise<void> {
  const embedding = unit(seed++);
  faces.set(userId, embedding);
  await store.enroll(
    { user_id: userId, name: `Name ${userId}`, group: null, metadata: {} },
    {
      model: 'm1',
      embedding,
      detection_score: 0.99,
      quality: { face_size: 100, sharpness: 50 },
      photo_sha256: `${userId}-${seed}`,
    },
    'add',
  );
  if (announce) await publishGalleryChange(redis, streamKey, userId);
}

async function erase(userId: string): Promise<void> {
  assert.ok(await store.deleteUser(userId));
  await publishGalleryChange(redis, streamKey, userId);
}

/** A worker starting up: a new GallerySync on the shared snapshot path, loaded. */
async function start(options: GallerySyncOptions = {}) {
  const sync = new GallerySync(store, redis, streamKey, DIM, undefined, {
    snapshotPath,
    model: 'm1',
    ...options,
  });
  await sync.fresh();
  await sync.settled(); // the snapshot a full load writes
  return sync;
}

async function top(sync: GallerySync, userId: string): Promise<string | undefined> {
  const [hit] = await sync.search(faces.get(userId) as Float32Array, { topK: 1 });
  return hit?.user_id;
}

before(async () => {
  await store.init();
  for (let u = 0; u < 300; u++) await enroll(`seed-${u}`, u % 2 === 0);
});

after(async () => {
  await redis.del(streamKey);
  await redis.quit();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('GallerySync start-up', () => {
  it('first start loads the store and writes a snapshot; the next starts from it and replays what happened while down', async () => {
    const first = await start();
    assert.equal(first.startup?.source, 'store');
    assert.equal(first.index.size, 300);
    // The worker goes down; meanwhile another one enrolls someone and erases someone.
    await enroll('while-down');
    await erase('seed-7');
    await erase('seed-8');
    const second = await start();
    assert.equal(second.startup?.source, 'snapshot', second.startup?.reason);
    assert.equal(second.startup?.replayed, 3);
    assert.equal(second.index.size, 300 + 1 - 2);
    assert.equal(await top(second, 'while-down'), 'while-down');
    for (const gone of ['seed-7', 'seed-8']) {
      assert.notEqual(await top(second, gone), gone);
      const found = await second.search(faces.get(gone) as Float32Array, { topK: 50 });
      assert.ok(!found.some((c) => c.user_id === gone), `${gone} was erased while the worker was down`);
    }
    for (const u of ['seed-0', 'seed-1', 'seed-150', 'seed-299']) assert.equal(await top(second, u), u);
  });

  it('a snapshot the stream was trimmed past is not used: full load, erasures kept', async () => {
    const fresh = await start(); // from the snapshot, then a new one is due only later
    assert.equal(fresh.startup?.source, 'snapshot');
    assert.ok((await fresh.saveSnapshot()) > 0);
    await erase('seed-9');
    await enroll('after-trim');
    // Trim everything: the erasure of seed-9 is no longer in the stream.
    await redis.xtrim(streamKey, 'MAXLEN', 0);
    const next = await start();
    assert.equal(next.startup?.source, 'store');
    assert.match(next.startup?.reason ?? '', /trimmed past/);
    assert.notEqual(await top(next, 'seed-9'), 'seed-9');
    assert.equal(await top(next, 'after-trim'), 'after-trim');
    // ...and its new snapshot is current again.
    assert.equal((await start()).startup?.source, 'snapshot');
  });

  it('a corrupt snapshot is ignored (full load) and replaced by a good one', async () => {
    await start();
    const bytes = readFileSync(snapshotPath);
    bytes[bytes.length - 100] = (bytes[bytes.length - 100] as number) ^ 0xff;
    writeFileSync(snapshotPath, bytes);
    const next = await start();
    assert.equal(next.startup?.source, 'store');
    assert.match(next.startup?.reason ?? '', /checksum/);
    writeFileSync(snapshotPath, bytes.subarray(0, 1000));
    const again = await start();
    assert.equal(again.startup?.source, 'store');
    assert.match(again.startup?.reason ?? '', /truncated/);
    assert.equal((await start()).startup?.source, 'snapshot');
    // A format-1 snapshot (one 64-byte code array per segment, before the two planes).
    const good = readFileSync(snapshotPath);
    const at = good.indexOf('"format":2');
    assert.ok(at > 0);
    good.write('"format":1', at, 'latin1');
    writeFileSync(snapshotPath, good);
    const old = await start();
    assert.equal(old.startup?.source, 'store');
    assert.match(old.startup?.reason ?? '', /format 1/);
    assert.equal(old.index.size, (await start()).index.size);
  });

  it("another model's snapshot and a stream that is gone both mean a full load", async () => {
    await start();
    const other = await start({ model: 'm2' });
    assert.equal(other.startup?.source, 'store');
    assert.match(other.startup?.reason ?? '', /model m1 is not m2/);
    // and none of m1's templates is in m2's index: they are never compared with m2's embeddings
    assert.equal(other.index.size, 0);
    assert.equal(other.index.otherModel, (await store.gallery()).length);
    await start(); // m1's snapshot again
    await enroll('before-reset');
    await start();
    await redis.del(streamKey);
    const next = await start();
    assert.equal(next.startup?.source, 'store');
    assert.match(next.startup?.reason ?? '', /gone/);
    assert.equal(await top(next, 'before-reset'), 'before-reset');
  });
});
