/**
 * How long a restarted worker takes before it can answer 1:N queries: cold (the whole gallery
 * from the store, page by page, as before) against warm (its local snapshot, then the changes
 * made while it was down replayed from the Redis stream — an erasure among them, checked).
 *
 *   npm run bench:gallery-startup -- [--gallery 1000000] [--int8 true|false] [--json]
 *
 * The SQLite store with N random templates is built once and cached in ~/.cache/shelia
 * (1M: ~2.3 GB, a few minutes to fill); Redis is the local one, under a fresh key prefix.
 */
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import { publishGalleryChange } from '../src/shared/gallery-stream.js';
import { mulberry32 } from '../src/shared/prng.js';
import { sqliteStore } from '../src/shared/store/sqlite-store.js';
import type { Store } from '../src/shared/store/store.js';
import { GallerySync } from '../src/worker/matching/gallery-sync.js';
import { r2 } from './stats.js';

const { values: args } = parseArgs({
  options: {
    gallery: { type: 'string', default: '1000000' },
    int8: { type: 'string', default: 'true' },
    json: { type: 'boolean', default: false },
  },
});
const N = Number(args.gallery);
const DIM = 512;
const int8 = args.int8 !== 'false';

function unit(seed: number): Float32Array {
  const rand = mulberry32(seed * 2654435761 + 1);
  const v = Float32Array.from({ length: DIM }, () => rand() - 0.5);
  let s = 0;
  for (const x of v) s += x * x;
  const n = Math.sqrt(s);
  return v.map((x) => x / n);
}

const userId = (i: number) => `user-${String(i).padStart(9, '0')}`;
const templateId = (i: number) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;

const enrollOne = (store: Store, i: number, embedding = unit(i)) =>
  store.enroll(
    { user_id: userId(i), name: `User ${i}`, group: null, metadata: {} },
    {
      model: 'bench',
      embedding,
      detection_score: 0.99,
      quality: { face_size: 120, sharpness: 60 },
      photo_sha256: `p${i}`,
    },
    'add',
  );

const cacheDir = join(homedir(), '.cache', 'shelia');
const dbPath = join(cacheDir, `startup-${N}.db`);
if (!existsSync(dbPath)) {
  mkdirSync(cacheDir, { recursive: true });
  const tmp = `${dbPath}.${process.pid}.tmp`;
  const filling = sqliteStore(tmp);
  await filling.init(); // the schema
  await filling.close();
  // The rows enroll() writes, in transactions of 10k and in key order (one enroll() per
  // template with random UUID keys ran at ~600/s on this busy machine: 30 min for 1M).
  const db = new Database(tmp);
  const user = db.prepare(
    'INSERT INTO users (user_id, name, grp, metadata, enrolled_at, updated_at) VALUES (?, ?, NULL, ?, ?, ?)',
  );
  const template = db.prepare(
    `INSERT INTO templates (template_id, user_id, model, embedding, detection_score, quality, photo_sha256, created_at)
     VALUES (?, ?, 'bench', ?, 0.99, '{"face_size":120,"sharpness":60}', ?, ?)`,
  );
  const at = new Date().toISOString();
  const fill = db.transaction((start: number, end: number) => {
    for (let i = start; i < end; i++) {
      const v = unit(i);
      user.run(userId(i), `User ${i}`, '{}', at, at);
      template.run(templateId(i), userId(i), Buffer.from(v.buffer, v.byteOffset, v.byteLength), `p${i}`, at);
    }
  });
  const t = performance.now();
  for (let s = 0; s < N; s += 10_000) {
    fill(s, Math.min(N, s + 10_000));
    if (s % 100_000 === 90_000)
      console.log(`  store: ${s + 10_000} templates (${r2((performance.now() - t) / 1000)} s)`);
  }
  db.close();
  for (const ext of ['', '-wal', '-shm']) if (existsSync(tmp + ext)) renameSync(tmp + ext, dbPath + ext);
}
const store = sqliteStore(dbPath);
await store.init();
// A previous run erased user 123 and enrolled user N+1 in the cached store: undo that.
if (!(await store.getUser(userId(123)))) await enrollOne(store, 123);
await store.deleteUser(userId(N + 1));
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const streamKey = `bench-startup-${process.pid}-${Date.now()}:gallery:changes`;
const dir = mkdtempSync(join(tmpdir(), 'shelia-startup-'));
const snapshotPath = join(dir, 'gallery.snapshot');
const options = { snapshotPath, model: 'bench', index: { int8 } };
await publishGalleryChange(redis, streamKey, 'user-0'); // the stream exists, as in a deployment

const rss = () => process.memoryUsage().rss / 2 ** 20;
try {
  const rss0 = rss();
  const cold = new GallerySync(store, redis, streamKey, DIM, undefined, options);
  await cold.fresh();
  const coldMs = cold.startup?.ms ?? NaN;
  const rssCold = rss() - rss0;
  let t = performance.now();
  const snapshotBytes = await cold.saveSnapshot();
  const writeMs = performance.now() - t;
  // Down: someone is erased and someone enrolled meanwhile.
  const erased = userId(123);
  const [victim] = await cold.search(unit(123), { topK: 1 });
  if (victim?.user_id !== erased) throw new Error('the victim is not found before its erasure');
  await store.deleteUser(erased);
  await publishGalleryChange(redis, streamKey, erased);
  await enrollOne(store, N + 1);
  await publishGalleryChange(redis, streamKey, userId(N + 1));

  t = performance.now();
  const warm = new GallerySync(store, redis, streamKey, DIM, undefined, options);
  await warm.fresh();
  const warmMs = performance.now() - t;
  const [after] = await warm.search(unit(123), { topK: 1 });
  // What the exact step costs when it reads the store (GALLERY_INT8=false reads 200 per query).
  const readMs: Record<number, number> = {};
  for (const reads of [40, 200, 1000]) {
    const times: number[] = [];
    for (let q = 0; q < 30; q++) {
      const ids = Array.from({ length: reads }, (_, i) => templateId(((q * 7919 + i * 104_729) * 13) % N));
      const started = performance.now();
      const got = await store.templateEmbeddings(ids);
      times.push(performance.now() - started);
      if (got.size !== reads) throw new Error(`read ${got.size} of ${reads} templates`);
    }
    readMs[reads] = r2(times.sort((a, b) => a - b)[15] as number);
  }
  const [added] = await warm.search(unit(N + 1), { topK: 1 });
  const report = {
    gallery: N,
    int8,
    cold_store_s: r2(coldMs / 1000),
    cold_rss_growth_mb: r2(rssCold),
    snapshot_mb: r2(snapshotBytes / 2 ** 20),
    snapshot_write_s: r2(writeMs / 1000),
    warm_snapshot_s: r2(warmMs / 1000),
    warm_source: warm.startup?.source,
    warm_replayed: warm.startup?.replayed,
    erased_user_answerable_after_start: after?.user_id === erased,
    user_enrolled_while_down_found: added?.user_id === userId(N + 1),
    templates: warm.index.size,
    store_read_p50_ms: readMs,
    store_mb: r2(statSync(dbPath).size / 2 ** 20),
  };
  console.log(`gallery start-up: ${N} templates (int8 ${int8}), SQLite ${report.store_mb} MB`);
  console.log(
    `  cold, from the store    ${report.cold_store_s} s (process +${report.cold_rss_growth_mb} MB)`,
  );
  console.log(`  snapshot                ${report.snapshot_mb} MB written in ${report.snapshot_write_s} s`);
  console.log(
    `  warm, from the snapshot ${report.warm_snapshot_s} s (source ${report.warm_source}, ${report.warm_replayed} changes replayed)`,
  );
  console.log(
    `  erased while down: answerable ${report.erased_user_answerable_after_start}; enrolled while down: found ${report.user_enrolled_while_down_found}`,
  );
  console.log(
    `  exact re-rank read from the store, p50: ${Object.entries(readMs)
      .map(([n, ms]) => `${n} templates ${ms} ms`)
      .join(', ')}`,
  );
  if (args.json) console.log(JSON.stringify(report));
} finally {
  await redis.del(streamKey);
  await redis.quit();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
