/**
 * Store calls per second on one process, the figure "The store" in the README quotes:
 *
 * - enrollment: the worker's write-heavy mix per item (`erasedAt`, `enroll`, `userTemplates`,
 *   `putItemResult`), 4 calls;
 * - attendance: `recordSighting` of sightings that chain (each joins the person's open record,
 *   so the window rule's read and write run every time), one call.
 *
 *   npm run build && node dist/bench/store-calls.js [--items 2000] [--json]
 *
 * SQLite on a fresh temporary file (WAL); with MONGODB_URL, the Mongo store on a fresh database
 * too (on FerretDB this bounds FerretDB, not MongoDB).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { Store } from '../src/shared/store/store.js';
import { machine, positiveInt, r2 } from './stats.js';

const { values: args } = parseArgs({
  options: { items: { type: 'string', default: '2000' }, json: { type: 'boolean', default: false } },
});
const N = positiveInt('items', args.items);

const embedding = (i: number) => Float32Array.from({ length: 512 }, (_, k) => Math.sin(i * 31 + k) / 16);

async function enrollmentMix(store: Store): Promise<number> {
  await store.createJob({
    job_id: 'bench',
    type: 'enrollment',
    total: N,
    status: 'active',
    created_at: new Date().toISOString(),
    started_at: null,
    finished_at: null,
    webhook_url: null,
    webhook_secret: null,
    photos: 'stored',
    failure_reason: null,
  });
  const accepted = new Date().toISOString();
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const user_id = `user-${i % (N / 2)}`; // half re-enrollments
    await store.erasedAt(user_id);
    const outcome = await store.enroll(
      { user_id, name: `User ${i}`, group: null, metadata: {} },
      {
        model: 'bench',
        embedding: embedding(i),
        detection_score: 0.99,
        quality: { face_size: 120, sharpness: 60 },
        photo_sha256: `p${i}`,
      },
      'add',
      accepted,
    );
    await store.userTemplates(user_id);
    await store.putItemResult({
      job_id: 'bench',
      index: i,
      ref: user_id,
      outcome: String(outcome),
      ok: true,
      detail: {},
      finished_at: new Date().toISOString(),
    });
  }
  return performance.now() - t0;
}

async function attendance(store: Store): Promise<number> {
  const T0 = Date.parse('2026-03-02T09:00:00.000Z');
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const person = i % 20; // 20 people, each seen every 20th sighting, 1 s apart: one record each
    await store.recordSighting(
      {
        sighting_id: `bench:${i}:0`,
        kind: 'match',
        user_id: `user-${person}`,
        name: `User ${person}`,
        group: null,
        camera_id: 'cam-1',
        captured_at: new Date(T0 + i * 1000).toISOString(),
        similarity: 0.7 + (i % 7) / 100,
        distance: 0.3 - (i % 7) / 100,
        margin: 0.2,
        threshold: 0.59,
        confirm_threshold: 0.3,
        strong_threshold: 0.15,
        bbox: { x: 1, y: 2, width: 100, height: 120 },
        thumbnail: `thumbs/${i}.jpg`,
        embedding: null,
        job_id: 'bench',
      },
      5 * 60_000,
    );
  }
  return performance.now() - t0;
}

async function measure(name: string, store: Store) {
  const cpu0 = process.cpuUsage();
  const enrollMs = await enrollmentMix(store);
  const cpu1 = process.cpuUsage(cpu0);
  const attendMs = await attendance(store);
  const cpu2 = process.cpuUsage(cpu0);
  const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;
  return {
    store: name,
    items: N,
    enrollment_calls_per_s: r2((4 * N) / (enrollMs / 1000)),
    enrollment_ms_per_call: r2(enrollMs / (4 * N)),
    enrollment_cpu_ms_per_call: r2(cpuMs(cpu1) / (4 * N)),
    record_sighting_per_s: r2(N / (attendMs / 1000)),
    record_sighting_ms: r2(attendMs / N),
    record_sighting_cpu_ms: r2((cpuMs(cpu2) - cpuMs(cpu1)) / N),
  };
}

const load0 = loadavg();
const results = [];
{
  const { sqliteStore } = await import('../src/shared/store/sqlite-store.js');
  const dir = mkdtempSync(join(tmpdir(), 'shelia-bench-store-'));
  const store = sqliteStore(join(dir, 'shelia.db'));
  await store.init();
  try {
    results.push(await measure('sqlite', store));
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
const url = process.env.MONGODB_URL;
if (url) {
  const { MongoClient } = await import('mongodb');
  const { openMongo } = await import('../src/shared/store/mongo-store.js');
  const dbName = `shelia_bench_${process.pid}`;
  const p = await openMongo(url, { dbName });
  try {
    results.push(await measure('mongodb', p.store));
  } finally {
    await p.close();
    const client = await new MongoClient(url).connect();
    await client.db(dbName).dropDatabase();
    await client.close();
  }
}
if (args.json) console.log(JSON.stringify({ results, machine: machine(load0, loadavg()) }, null, 2));
else for (const r of results) console.log(r);
