/**
 * Pipeline benchmark: per-stage timings on one thread, throughput through the InferencePool,
 * and camera-sized frames. Usage: node dist/bench/pipeline.js --images DIR [--limit N]
 * [--threads N] [--json]. Photos are read from DIR and never copied anywhere.
 */
import { readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp, { type OverlayOptions } from 'sharp';
import type { AnalysisResult, StageTimings } from '../src/shared/face-types.js';
import { InferencePool } from '../src/worker/inference/pool.js';
import { analyse, type AnalyseOptions } from '../src/worker/pipeline/face-pipeline.js';
import type { ModelPack } from '../src/worker/pipeline/seams.js';
import { loadPack } from '../src/worker/pipeline/sessions.js';
import { positiveInt, quantile, r2 } from './stats.js';

const STAGES = ['decode', 'detect', 'landmarks', 'align', 'embed'] as const;
type Stats = { median: number; p90: number };
type StageStats = Record<keyof StageTimings, Stats>;

const PHOTO_OPTIONS: AnalyseOptions = {
  maxPixels: 25_000_000,
  maxSide: 1920,
  tiling: 'auto',
  select: 'largest',
};
// A camera frame may hold a whole queue of people, so every face is embedded.
const FRAME_OPTIONS: AnalyseOptions = { ...PHOTO_OPTIONS, select: 'all' };
const WARM_UP = 5;
const FRAME_RUNS = 20;

const { values: args } = parseArgs({
  options: {
    images: { type: 'string' },
    limit: { type: 'string', default: '300' },
    threads: { type: 'string', default: String(os.availableParallelism()) },
    json: { type: 'boolean', default: false },
  },
});
if (!args.images) throw new Error('--images DIR is required');
const limit = positiveInt('limit', args.limit);
const threads = positiveInt('threads', args.threads);
// dist/bench/pipeline.js -> repo root is two levels up.
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const modelsDir = path.resolve(process.env.MODELS_DIR ?? path.join(repoRoot, 'models'));

const stats = (values: number[]): Stats => ({
  median: r2(quantile(values, 0.5)),
  p90: r2(quantile(values, 0.9)),
});
const stageStats = (runs: StageTimings[]): StageStats =>
  Object.fromEntries(STAGES.map((s) => [s, stats(runs.map((t) => t[s]))])) as StageStats;

async function collectPhotos(dir: string, max: number): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  // Sorted so two runs (and two machines) measure the same photos.
  return entries
    .filter((e) => /\.(jpe?g|png|webp)$/i.test(e))
    .sort()
    .slice(0, max)
    .map((e) => path.join(dir, e));
}

/** Several photos pasted at decreasing sizes, shelf-packed on grey: faces from ~500 px down to ~40 px. */
async function compositeFrame(
  width: number,
  height: number,
  photos: Uint8Array[],
  sizes: number[],
): Promise<{ bytes: Buffer; pasted: number }> {
  const margin = Math.round(width / 50);
  const layers: OverlayOptions[] = [];
  let x = margin;
  let y = margin;
  let shelf = 0;
  for (const [i, size] of sizes.entries()) {
    const photo = photos[i % photos.length];
    if (!photo) break;
    if (x + size + margin > width) [x, y, shelf] = [margin, y + shelf + margin, 0];
    if (y + size + margin > height) break;
    const input = await sharp(photo).resize(size, size).toBuffer();
    layers.push({ input, left: x, top: y });
    x += size + margin;
    shelf = Math.max(shelf, size);
  }
  const bytes = await sharp({
    create: { width, height, channels: 3, background: { r: 128, g: 128, b: 128 } },
  })
    .composite(layers)
    .jpeg({ quality: 90 })
    .toBuffer();
  return { bytes, pasted: layers.length };
}

/** Runs analyse once, timing it end to end; a refused photo counts as a failure, not a crash. */
async function timedAnalyse(sessions: ModelPack, bytes: Uint8Array, options: AnalyseOptions) {
  const t0 = performance.now();
  const result: AnalysisResult | undefined = await analyse(sessions, bytes, options).catch(() => undefined);
  return { result, ms: performance.now() - t0 };
}

const photoPaths = await collectPhotos(args.images, limit);
if (photoPaths.length === 0) throw new Error(`no photos under ${args.images}`);
// Read everything first so disk I/O is not in any figure.
const photos: Uint8Array[] = await Promise.all(photoPaths.map((p) => readFile(p)));
const log = (line: string) => console.log(line);
log(`Shelia pipeline bench: ${photos.length} photos, node ${process.version}, ${os.cpus().length} CPUs`);

// --- single thread, in-process ---
const sessions = await loadPack(modelsDir);
for (const bytes of photos.slice(0, WARM_UP))
  await analyse(sessions, bytes, PHOTO_OPTIONS).catch(() => undefined);
const photoTimings: StageTimings[] = [];
const photoTotals: number[] = [];
let failed = 0;
let withFace = 0;
const singleStart = performance.now();
for (const bytes of photos) {
  const { result, ms } = await timedAnalyse(sessions, bytes, PHOTO_OPTIONS);
  if (!result) {
    failed++;
    continue;
  }
  photoTimings.push(result.timings);
  photoTotals.push(ms);
  if (result.faces.length > 0) withFace++;
}
const singlePerS = photos.length / ((performance.now() - singleStart) / 1000);

// --- large frames, single thread ---
const frameSpecs = [
  { name: '1920x1080', width: 1920, height: 1080, sizes: [480, 360, 260, 200, 150, 110, 80] },
  // A 4K camera: faces from ~350 px down to ~55 px (a photo pasted at 110 px), embedded from the
  // full-resolution pixels while detection works at maxSide.
  { name: '3840x2160', width: 3840, height: 2160, sizes: [700, 500, 360, 260, 200, 150, 130, 110] },
  { name: '4000x3000', width: 4000, height: 3000, sizes: [1100, 800, 600, 450, 340, 260, 200, 160, 130] },
];
const frames = [];
for (const spec of frameSpecs) {
  const { bytes, pasted } = await compositeFrame(spec.width, spec.height, photos, spec.sizes);
  for (let i = 0; i < 2; i++) await analyse(sessions, bytes, FRAME_OPTIONS);
  const runs: StageTimings[] = [];
  const totals: number[] = [];
  let facesDetected = 0;
  let facesEmbedded = 0;
  for (let i = 0; i < FRAME_RUNS; i++) {
    const t0 = performance.now();
    const result = await analyse(sessions, bytes, FRAME_OPTIONS);
    totals.push(performance.now() - t0);
    runs.push(result.timings);
    [facesDetected, facesEmbedded] = [result.faces_detected, result.faces.length];
  }
  frames.push({
    name: spec.name,
    jpeg_bytes: bytes.length,
    photos_pasted: pasted,
    faces_detected: facesDetected,
    faces_embedded: facesEmbedded,
    runs: FRAME_RUNS,
    stages: stageStats(runs),
    end_to_end_ms: stats(totals),
  });
}
// Free this thread's sessions so the pool measurement has the memory and cores to itself.
await sessions.release();

// --- pool ---
const pool = new InferencePool({ modelsDir, size: threads });
const first = photos[0];
// The pool transfers (detaches) what it is given, and Buffer#slice is a view, not a copy, so
// hand it plain Uint8Array copies (made before the clock starts).
if (first) await pool.warmUp(new Uint8Array(first), PHOTO_OPTIONS);
const copies = photos.map((b) => new Uint8Array(b));
let next = 0;
const inFlight = 2 * threads; // enough queued that no thread idles between tasks
const poolStart = performance.now();
await Promise.all(
  Array.from({ length: inFlight }, async () => {
    for (let i = next++; i < copies.length; i = next++) {
      await pool.analyse(copies[i] ?? new Uint8Array(), PHOTO_OPTIONS).catch(() => undefined);
    }
  }),
);
const poolPerS = copies.length / ((performance.now() - poolStart) / 1000);
await pool.close();

// --- report ---
const single = stageStats(photoTimings);
const pad = (v: string | number, w: number) => String(v).padStart(w);
log(`\nLFW photos, one thread (${photoTimings.length} ok, ${failed} failed, ${withFace} with a face)`);
log(`${'stage'.padEnd(12)}${pad('median ms', 11)}${pad('p90 ms', 10)}`);
for (const s of STAGES) log(`${s.padEnd(12)}${pad(single[s].median, 11)}${pad(single[s].p90, 10)}`);
const e2e = stats(photoTotals);
log(`${'end-to-end'.padEnd(12)}${pad(e2e.median, 11)}${pad(e2e.p90, 10)}`);
log(`\nthroughput   one thread ${r2(singlePerS)} photos/s | pool x${threads} ${r2(poolPerS)} photos/s`);
log(`speedup      ${r2(poolPerS / singlePerS)}x (${inFlight} in flight)`);
for (const f of frames) {
  log(`\nframe ${f.name} (${Math.round(f.jpeg_bytes / 1024)} KB, select all, ${f.runs} runs)`);
  log(
    `  faces: ${f.faces_detected} detected, ${f.faces_embedded} embedded, ${f.photos_pasted} photos pasted`,
  );
  log(`  ${'stage'.padEnd(12)}${pad('median ms', 9)}${pad('p90 ms', 10)}`);
  for (const s of STAGES) log(`  ${s.padEnd(12)}${pad(f.stages[s].median, 9)}${pad(f.stages[s].p90, 10)}`);
  log(`  ${'end-to-end'.padEnd(12)}${pad(f.end_to_end_ms.median, 9)}${pad(f.end_to_end_ms.p90, 10)}`);
}
if (args.json) {
  const summary = {
    photos: photos.length,
    photos_failed: failed,
    photos_with_face: withFace,
    threads,
    stages: single,
    end_to_end_ms: e2e,
    single_thread_photos_per_s: r2(singlePerS),
    pool_photos_per_s: r2(poolPerS),
    speedup: r2(poolPerS / singlePerS),
    large_frames: frames,
    node: process.version,
    cpu_count: os.availableParallelism(),
    cpu_model: os.cpus()[0]?.model ?? 'unknown',
  };
  log(JSON.stringify(summary));
}
