/**
 * Camera attendance through the whole system: POST /api/v1/attendance batches of 1920x1080
 * frames -> Redis queue -> worker (every face detected, embedded, searched in the gallery,
 * recorded) -> store, measured as frames/s and faces/s from the first submit to the last batch
 * finished.
 *
 *   npm run bench:attendance -- [--frames F] [--faces-per-frame K] [--batch B] [--people P]
 *                                [--faces DIR] [--json]
 *
 * First P identities (default 100, each with 2+ photos) are enrolled with their first photo.
 * Then F frames (default 100) are composed in memory with sharp: K faces each (default 4) on a
 * textured background, three in four another photo of an enrolled person, one in four a
 * stranger (an identity never enrolled), faces ~60-150 px tall at random places. They are sent
 * B frames (default 25) per batch. The figure counts only what the job results report; the
 * known layout of each frame also gives how many faces were matched to the right person, so a
 * fast run that finds nothing cannot pass for a good one.
 *
 * Photos are read in place and never copied. With --json the last stdout line is one JSON
 * object with every figure.
 */
import { readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp, { type OverlayOptions } from 'sharp';
import { z } from 'zod';
import {
  jobResults,
  spawnService,
  stopOnSignal,
  stopService,
  submitBatch,
  measureBatches,
  serviceCounts,
  waitForJobs,
  waitHealthy,
  type ItemResult,
  type Spawned,
} from './service.js';
import { machine, positiveInt, r2 } from './stats.js';
import { mulberry32 } from '../src/shared/prng.js';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../src/shared/config.js';
import { InferencePool } from '../src/worker/inference/pool.js';
import { analyseOptions } from '../src/worker/processors/analyse-options.js';
import { formatItemCost, startMeter } from './redis-counts.js';
import { startPrivateRedis, type PrivateRedis } from '../test/helpers/private-redis.js';

const { values: args } = parseArgs({
  options: {
    faces: { type: 'string' },
    frames: { type: 'string', default: '100' },
    'faces-per-frame': { type: 'string', default: '4' },
    batch: { type: 'string', default: '25' },
    people: { type: 'string', default: '100' },
    json: { type: 'boolean', default: false },
  },
});
const frameCount = positiveInt('frames', args.frames);
const perFrame = positiveInt('faces-per-frame', args['faces-per-frame']);
const batchSize = positiveInt('batch', args.batch);
const peopleCount = positiveInt('people', args.people);
// dist/bench/attendance.js -> repo root is two levels up; the shared photos sit next to the repo.
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const facesDir = path.resolve(args.faces ?? path.resolve(repoRoot, '..', 'shared', 'faces', 'lfw-dev'));

const FRAME = { width: 1920, height: 1080 };
const CAMERA_ID = 'bench-cam-1';
// A fixed morning, one frame a second: two runs send byte-identical bodies.
const FIRST_CAPTURE = Date.parse('2025-01-06T08:00:00.000Z');
const STRANGER_SHARE = 0.25;
const FACE_HEIGHT = { min: 60, max: 150 };
// In LFW's deep-funneled 250x250 photos the detector's box is about half the photo's height
// (measured: 114-161 px, median ~126), so a photo pasted at 2h px shows a face ~h px tall.
const FACE_SHARE_OF_PHOTO = 0.5;
// Duplicates are not what this bench is about; an LFW look-alike must not cost an enrollee.
const SERVICE_ENV = { DUPLICATE_POLICY: 'warn' };

const log = (line: string) => console.log(line);
// Progress goes to stderr so stdout holds only the table (and, with --json, the JSON line last).
const note = (line: string) => console.error(line);

const random = mulberry32(2025);
const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;

interface Identity {
  /** Directory name, used as the user_id (LFW names are valid ids). */
  id: string;
  photos: string[];
}

async function listIdentities(dir: string): Promise<Identity[]> {
  const names = (await readdir(dir, { withFileTypes: true }))
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  const identities: Identity[] = [];
  for (const id of names) {
    const photos = (await readdir(path.join(dir, id)))
      .filter((f) => /\.(jpe?g|png|webp)$/i.test(f))
      .sort()
      .map((f) => path.join(dir, id, f));
    if (photos.length > 0) identities.push({ id, photos });
  }
  return identities;
}

// --- frames ---

interface Pasted {
  /** The enrolled user shown, or null for a stranger. */
  userId: string | null;
  rect: { x: number; y: number; width: number; height: number };
}
interface Frame {
  jpeg: Buffer;
  pasted: Pasted[];
}

/** Standard normal samples from a seeded source (Box-Muller). */
function gaussian(next: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(Math.max(next(), Number.EPSILON))) * Math.cos(2 * Math.PI * next());
}

/**
 * A static "room": muted blotches (noise at 1/40 scale, blown up and blurred) plus sensor-like
 * grain, so the detector sees texture rather than flat grey and the JPEGs come out
 * camera-sized (~280 KB at quality 85), not the few KB of a flat frame. Seeded noise (not
 * sharp's own) so two runs send the same frames.
 */
async function background(): Promise<Buffer> {
  const g = gaussian(mulberry32(7));
  const [w, h] = [FRAME.width / 40, FRAME.height / 40];
  const blotches = Buffer.alloc(w * h * 3);
  for (let i = 0; i < blotches.length; i += 3) {
    const rgb = [0, 1, 2].map(() => 120 + 30 * g());
    const mean = ((rgb[0] ?? 0) + (rgb[1] ?? 0) + (rgb[2] ?? 0)) / 3;
    // Mostly grey: saturated confetti would look like no room and compress like none either.
    for (let c = 0; c < 3; c++)
      blotches[i + c] = Math.max(0, Math.min(255, mean + 0.3 * ((rgb[c] ?? 0) - mean)));
  }
  const out = await sharp(blotches, { raw: { width: w, height: h, channels: 3 } })
    .resize(FRAME.width, FRAME.height, { kernel: 'cubic' })
    .blur(20)
    .raw()
    .toBuffer();
  for (let i = 0; i < out.length; i++) out[i] = Math.max(0, Math.min(255, (out[i] ?? 0) + 6 * g()));
  return out;
}

/**
 * K faces in distinct cells of a grid over the frame (so they never overlap), each at a random
 * size and place inside its cell.
 */
async function composeFrame(
  bg: Buffer,
  faces: { userId: string | null; file: string }[],
  photoCache: Map<string, Buffer>,
): Promise<Frame> {
  const cols = Math.ceil(Math.sqrt((faces.length * FRAME.width) / FRAME.height));
  const rows = Math.ceil(faces.length / cols);
  const cellW = Math.floor(FRAME.width / cols);
  const cellH = Math.floor(FRAME.height / rows);
  const cells = Array.from({ length: cols * rows }, (_, i) => i);
  // Fisher-Yates, so which cells are used changes from frame to frame.
  for (let i = cells.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [cells[i], cells[j]] = [cells[j] as number, cells[i] as number];
  }
  const layers: OverlayOptions[] = [];
  const pasted: Pasted[] = [];
  for (const [n, face] of faces.entries()) {
    const cell = cells[n] as number;
    const faceHeight = FACE_HEIGHT.min + random() * (FACE_HEIGHT.max - FACE_HEIGHT.min);
    const side = Math.min(Math.round(faceHeight / FACE_SHARE_OF_PHOTO), cellW - 8, cellH - 8);
    const x = (cell % cols) * cellW + Math.floor(random() * (cellW - side));
    const y = Math.floor(cell / cols) * cellH + Math.floor(random() * (cellH - side));
    let bytes = photoCache.get(face.file);
    if (!bytes) {
      bytes = await readFile(face.file);
      photoCache.set(face.file, bytes);
    }
    layers.push({ input: await sharp(bytes).resize(side, side).toBuffer(), left: x, top: y });
    pasted.push({ userId: face.userId, rect: { x, y, width: side, height: side } });
  }
  const jpeg = await sharp(bg, { raw: { ...FRAME, channels: 3 } })
    .composite(layers)
    .jpeg({ quality: 85 })
    .toBuffer();
  return { jpeg, pasted };
}

// --- what the job results say ---

const Detection = z.object({
  bbox: z.object({ x: z.number(), y: z.number(), width: z.number(), height: z.number() }),
  kind: z.enum(['match', 'unknown']),
  user_id: z.string().nullable(),
});
type Detection = z.infer<typeof Detection>;
const FrameDetail = z.object({
  faces: z.number().int(),
  matched: z.number().int(),
  unknown: z.number().int(),
  detections: z.array(Detection),
});

interface Truth {
  enrolledCorrect: number;
  enrolledWrongUser: number;
  enrolledUnknown: number;
  enrolledMissed: number;
  strangerUnknown: number;
  strangerMatched: number;
  strangerMissed: number;
  /** Detections that are not the main face of a pasted photo: background faces, false alarms. */
  extra: number;
}

/**
 * Each pasted photo's face is the largest detection whose centre lies inside it; anything else
 * (LFW photos often show a bystander) is counted as extra, not held against the matcher.
 */
function score(frame: Frame, detections: Detection[], t: Truth): void {
  const used = new Set<Detection>();
  for (const p of frame.pasted) {
    const inside = detections.filter((d) => {
      const cx = d.bbox.x + d.bbox.width / 2;
      const cy = d.bbox.y + d.bbox.height / 2;
      const r = p.rect;
      return cx >= r.x && cx <= r.x + r.width && cy >= r.y && cy <= r.y + r.height;
    });
    const main = inside.sort((a, b) => b.bbox.height - a.bbox.height)[0];
    if (main) used.add(main);
    if (p.userId === null) {
      if (!main) t.strangerMissed++;
      else if (main.kind === 'match') t.strangerMatched++;
      else t.strangerUnknown++;
    } else if (!main) t.enrolledMissed++;
    else if (main.kind === 'unknown') t.enrolledUnknown++;
    else if (main.user_id === p.userId) t.enrolledCorrect++;
    else t.enrolledWrongUser++;
  }
  t.extra += detections.length - used.size;
}

/**
 * The frames straight through an InferencePool of the service's size, all at once, with the
 * options the worker's attendance processor uses: what the frames cost without API, queue,
 * gallery search and store. Run while the service is up but idle (it has nothing queued).
 */
async function rawFrames(frames: Frame[]): Promise<{ seconds: number; cpuSeconds: number }> {
  const config = loadConfig({ ...process.env, ...SERVICE_ENV });
  const options = { ...analyseOptions(config, 'all'), thumbnails: true };
  const pool = new InferencePool({ modelsDir: config.modelsDir, size: config.poolSize });
  try {
    await pool.warmUp(new Uint8Array(frames[0]?.jpeg ?? Buffer.alloc(0)), options);
    const copies = frames.map((f) => new Uint8Array(f.jpeg));
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    await Promise.all(
      copies.map((bytes) => pool.analyse(bytes, options, { handOver: 'transfer' }).catch(() => undefined)),
    );
    const cpu = process.cpuUsage(cpu0);
    return { seconds: (performance.now() - t0) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
  } finally {
    await pool.close();
  }
}

// --- main ---

let spawned: Spawned | undefined;
let redis: PrivateRedis | undefined;
stopOnSignal(() => spawned);

try {
  const loadStart = os.loadavg();
  const identities = await listIdentities(facesDir);
  const candidates = identities.filter((i) => i.photos.length >= 2).slice(0, peopleCount);
  const candidateIds = new Set(candidates.map((c) => c.id));
  const strangers = identities.filter((i) => !candidateIds.has(i.id));
  if (candidates.length === 0 || strangers.length === 0)
    throw new Error(`${facesDir} needs identities with 2+ photos and others to act as strangers`);

  note('starting the service (node dist/src/all-in-one.js)');
  // A private Redis, so INFO commandstats counts only this service's commands.
  redis = await startPrivateRedis();
  spawned = await spawnService({
    tag: 'bench-attendance',
    env: SERVICE_ENV,
    redisUrl: redis.url,
    counted: true,
  });
  const service = spawned;
  await waitHealthy(service);

  // --- enrollment (not timed: bench:enroll measures it), which also warms every pool thread ---
  note(`enrolling ${candidates.length} people (photo 1 each)`);
  const enrollItems = await Promise.all(
    candidates.map(async (c) => ({
      user_id: c.id,
      name: c.id.replace(/_/g, ' '),
      image: (await readFile(c.photos[0] as string)).toString('base64'),
    })),
  );
  const enrollJob = await submitBatch(
    service,
    '/api/v1/enrollments',
    Buffer.from(JSON.stringify({ items: enrollItems })),
  );
  await waitForJobs(service, [enrollJob.job_id]);
  const enrollResults = await jobResults(service, enrollJob.job_id);
  // Only people the service really enrolled can be expected to match; a refused photo
  // (a second face, too small) leaves that person out of the frames altogether.
  const enrolledIds = new Set(enrollResults.filter((r) => r.ok && r.ref).map((r) => r.ref as string));
  const enrolled = candidates.filter((c) => enrolledIds.has(c.id));
  if (enrolled.length === 0) throw new Error('nobody was enrolled');
  const enrollOutcomes: Record<string, number> = {};
  for (const r of enrollResults) enrollOutcomes[r.outcome] = (enrollOutcomes[r.outcome] ?? 0) + 1;

  // --- frames and request bodies, all before the clock (the service is idle meanwhile) ---
  note(`composing ${frameCount} frames of ${FRAME.width}x${FRAME.height} with ${perFrame} faces each`);
  const bg = await background();
  const photoCache = new Map<string, Buffer>();
  const frames: Frame[] = [];
  for (let f = 0; f < frameCount; f++) {
    const shown = new Set<string>();
    const faces: { userId: string | null; file: string }[] = [];
    while (faces.length < perFrame) {
      const stranger = random() < STRANGER_SHARE;
      const who = stranger ? pick(strangers) : pick(enrolled);
      // The same person twice in one frame would make the per-face truth ambiguous.
      if (shown.has(who.id) && shown.size < enrolled.length + strangers.length) continue;
      shown.add(who.id);
      // Enrolled people appear in another photo than the one enrolled, as a camera would see them.
      const file = stranger ? pick(who.photos) : pick(who.photos.slice(1));
      faces.push({ userId: stranger ? null : who.id, file });
    }
    frames.push(await composeFrame(bg, faces, photoCache));
  }
  const jpegBytes = frames.reduce((s, f) => s + f.jpeg.length, 0);
  const bodies: Buffer[] = [];
  for (let i = 0; i < frames.length; i += batchSize) {
    const batch = frames.slice(i, i + batchSize).map((f, n) => ({
      image: f.jpeg.toString('base64'),
      captured_at: new Date(FIRST_CAPTURE + (i + n) * 1000).toISOString(),
    }));
    bodies.push(Buffer.from(JSON.stringify({ camera_id: CAMERA_ID, frames: batch })));
  }
  const bodyBytes = bodies.reduce((s, b) => s + b.length, 0);

  note(`raw pipeline: ${frames.length} frames through an InferencePool (the service idles meanwhile)`);
  const raw = await rawFrames(frames);

  // --- the measured part ---
  note(`submitting ${frames.length} frames in ${bodies.length} batch(es) of up to ${batchSize}`);
  const meter = await startMeter(redis.url, () => serviceCounts(service));
  const measured = await measureBatches(service, '/api/v1/attendance', bodies);
  const cost = await meter.stop(frames.length);
  const { jobs, jobIds } = measured;
  const seconds = measured.seconds;

  // --- results ---
  const outcomes: Record<string, number> = {};
  const totals = { faces: 0, matched: 0, unknown: 0 };
  const truth: Truth = {
    enrolledCorrect: 0,
    enrolledWrongUser: 0,
    enrolledUnknown: 0,
    enrolledMissed: 0,
    strangerUnknown: 0,
    strangerMatched: 0,
    strangerMissed: 0,
    extra: 0,
  };
  for (const [j, id] of jobIds.entries()) {
    const items: ItemResult[] = await jobResults(service, id);
    for (const item of items) {
      outcomes[item.outcome] = (outcomes[item.outcome] ?? 0) + 1;
      const frame = frames[j * batchSize + item.index];
      const detail = FrameDetail.safeParse(item);
      if (!item.ok || !frame || !detail.success) continue;
      totals.faces += detail.data.faces;
      totals.matched += detail.data.matched;
      totals.unknown += detail.data.unknown;
      score(frame, detail.data.detections, truth);
    }
  }
  const statuses: Record<string, number> = {};
  for (const j of jobs) statuses[j.status.status] = (statuses[j.status.status] ?? 0) + 1;
  const pastedEnrolled = frames.reduce((s, f) => s + f.pasted.filter((p) => p.userId !== null).length, 0);
  const pastedStrangers = frames.length * perFrame - pastedEnrolled;
  const framesPerS = frames.length / seconds;
  const facesPerS = totals.faces / seconds;
  // CPU per frame, which the load of other work on the machine skews far less than wall time.
  const cpuMsPerFrame =
    measured.cpuSeconds !== undefined ? (measured.cpuSeconds * 1000) / frames.length : undefined;
  const rawFramesPerS = frames.length / raw.seconds;
  const rawCpuMsPerFrame = (raw.cpuSeconds * 1000) / frames.length;
  const overheadPct = ((rawFramesPerS - framesPerS) / rawFramesPerS) * 100;
  const cpuOverheadPct =
    cpuMsPerFrame !== undefined ? ((cpuMsPerFrame - rawCpuMsPerFrame) / cpuMsPerFrame) * 100 : undefined;
  const loadEnd = os.loadavg();

  // --- report ---
  const pad = (v: string | number, w: number) => String(v).padStart(w);
  log(
    `\nShelia attendance bench: ${frames.length} frames ${FRAME.width}x${FRAME.height} x ${perFrame} faces ` +
      `(${FACE_HEIGHT.min}-${FACE_HEIGHT.max} px), ${bodies.length} batch(es) of up to ${batchSize}; ` +
      `node ${process.version}, ${os.availableParallelism()} CPUs, load ${loadStart.map(r2).join(' ')}`,
  );
  log(
    `gallery: ${enrolled.length} of ${candidates.length} people enrolled ` +
      `(${Object.entries(enrollOutcomes)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')})`,
  );
  log(`${'figure'.padEnd(28)}${pad('value', 10)}`);
  const row = (name: string, value: number | string) => log(`${name.padEnd(28)}${pad(value, 10)}`);
  row('seconds (submit -> done)', r2(seconds));
  row('frames/s', r2(framesPerS));
  row('faces/s (detected)', r2(facesPerS));
  row('service CPU ms/frame', cpuMsPerFrame !== undefined ? r2(cpuMsPerFrame) : 'n/a');
  row('raw frames/s', r2(rawFramesPerS));
  row('raw CPU ms/frame', r2(rawCpuMsPerFrame));
  row('queue overhead %', r2(overheadPct));
  row('CPU overhead %', cpuOverheadPct !== undefined ? r2(cpuOverheadPct) : 'n/a');
  row('faces detected', totals.faces);
  row('  matched', totals.matched);
  row('  unknown', totals.unknown);
  log(
    `submit: ${r2(bodyBytes / 1024 / 1024)} MB of JSON (JPEG mean ${r2(jpegBytes / frames.length / 1024)} KB), ` +
      `all accepted after ${r2(measured.submitSeconds)} s; last finish seen by polling after ` +
      `${r2(measured.seenSeconds)} s`,
  );
  log(
    `truth: ${pastedEnrolled} enrolled faces pasted -> ${truth.enrolledCorrect} matched to the right person, ` +
      `${truth.enrolledWrongUser} to someone else, ${truth.enrolledUnknown} unknown, ${truth.enrolledMissed} not detected`,
  );
  log(
    `       ${pastedStrangers} strangers pasted -> ${truth.strangerUnknown} unknown, ` +
      `${truth.strangerMatched} matched (false accept), ${truth.strangerMissed} not detected; ` +
      `${truth.extra} other detections (bystanders in the photos, false alarms)`,
  );
  for (const line of formatItemCost('frame', cost)) log(line);
  log(
    `frames: ${Object.entries(outcomes)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')}; batches ${JSON.stringify(statuses)}`,
  );
  log(`load average at the end: ${loadEnd.map(r2).join(' ')} (other work on the machine skews every figure)`);

  if (args.json) {
    const summary = {
      faces_dir: facesDir,
      frames: frames.length,
      faces_per_frame: perFrame,
      frame_width: FRAME.width,
      frame_height: FRAME.height,
      batch_size: batchSize,
      batches: bodies.length,
      body_bytes: bodyBytes,
      jpeg_mean_bytes: Math.round(jpegBytes / frames.length),
      people_enrolled: enrolled.length,
      enroll_outcomes: enrollOutcomes,
      seconds: r2(seconds),
      frames_per_s: r2(framesPerS),
      faces_per_s: r2(facesPerS),
      cpu_ms_per_frame: cpuMsPerFrame !== undefined ? r2(cpuMsPerFrame) : null,
      raw_seconds: r2(raw.seconds),
      raw_frames_per_s: r2(rawFramesPerS),
      raw_cpu_ms_per_frame: r2(rawCpuMsPerFrame),
      queue_overhead_pct: r2(overheadPct),
      cpu_overhead_pct: cpuOverheadPct !== undefined ? r2(cpuOverheadPct) : null,
      per_frame: cost,
      faces_detected: totals.faces,
      matched: totals.matched,
      unknown: totals.unknown,
      pasted_enrolled: pastedEnrolled,
      pasted_strangers: pastedStrangers,
      truth: {
        enrolled_correct: truth.enrolledCorrect,
        enrolled_wrong_user: truth.enrolledWrongUser,
        enrolled_unknown: truth.enrolledUnknown,
        enrolled_missed: truth.enrolledMissed,
        stranger_unknown: truth.strangerUnknown,
        stranger_matched: truth.strangerMatched,
        stranger_missed: truth.strangerMissed,
        extra_detections: truth.extra,
      },
      submit_seconds: r2(measured.submitSeconds),
      last_seen_seconds: r2(measured.seenSeconds),
      frame_outcomes: outcomes,
      batch_statuses: statuses,
      ...machine(loadStart, loadEnd),
    };
    log(JSON.stringify(summary));
  }
} finally {
  if (spawned) await stopService(spawned);
  await redis?.stop();
}
