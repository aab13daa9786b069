/**
 * Which first photos of lfw-dev identities are refused MULTIPLE_FACES, by the old rule (a second
 * face >= 0.5x the main face's height) and by the dominant-face rule (src/worker/dominant-face.ts),
 * with each refused photo's face sizes, positions and border contact. For photos the new rule
 * accepts, checks that the enrolled face is the named person: closer to the identity's second
 * photo than every ignored face. Also prints the enrollment outcome of every photo that does not
 * enroll (the FIRST_PHOTO_REJECTS table of test/helpers/batches.ts) and the closest pair of
 * enrolled faces among the first 100. Usage: node dist/bench/multiple-faces.js --lfw DIR
 * [--limit N] [--threads N] [--json]. Photos are read from DIR and never copied anywhere.
 */
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ServiceError } from '../src/shared/errors.js';
import { cosineDistance } from '../src/shared/face-math.js';
import type { AnalysisResult, BoundingBox } from '../src/shared/face-types.js';
import { dominantFace } from '../src/worker/dominant-face.js';
import { enrollmentFace } from '../src/worker/enrollment-gates.js';
import { InferencePool } from '../src/worker/inference/pool.js';
import type { AnalyseOptions } from '../src/worker/pipeline/face-pipeline.js';
import { positiveInt } from './stats.js';

const { values: args } = parseArgs({
  options: {
    lfw: { type: 'string' },
    limit: { type: 'string', default: '1000' },
    threads: { type: 'string', default: String(os.availableParallelism()) },
    json: { type: 'boolean', default: false },
  },
});
if (!args.lfw) throw new Error('--lfw DIR is required');
const lfw = args.lfw;
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const modelsDir = path.resolve(process.env.MODELS_DIR ?? path.join(repoRoot, 'models'));
const options = (select: AnalyseOptions['select']): AnalyseOptions => ({
  maxPixels: 25_000_000,
  maxSide: 1920,
  tiling: 'auto',
  select,
});
/** The service's default gates (src/shared/config.ts). */
const QUALITY = { minFaceSize: 60, minSharpness: 15, minDetectionScore: 0.8 };
const r3 = (v: number) => Math.round(v * 1000) / 1000;
const file = (name: string, n: number) => path.join(lfw, name, `${name}_${String(n).padStart(4, '0')}.jpg`);

const names = readdirSync(lfw, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  .slice(0, positiveInt('limit', args.limit));
const photoCount = (name: string) =>
  readdirSync(path.join(lfw, name)).filter((f) => f.endsWith('.jpg')).length;

const oldRefuses = (r: AnalysisResult) =>
  (r.detections[1]?.bbox.height ?? 0) >= 0.5 * (r.detections[0]?.bbox.height ?? Infinity);

function outcome(r: AnalysisResult): string {
  try {
    enrollmentFace(r, QUALITY);
    return 'ENROLLED';
  } catch (err) {
    if (!(err instanceof ServiceError)) throw err;
    return typeof err.details.gate === 'string' ? `${err.code}:${err.details.gate}` : err.code;
  }
}

function describeFace(b: BoundingBox, main: BoundingBox, r: AnalysisResult) {
  const border = Math.min(b.x, b.y, r.width - b.x - b.width, r.height - b.y - b.height);
  return {
    height_ratio: r3(b.height / main.height),
    centre_offset: [r3((b.x + b.width / 2) / r.width - 0.5), r3((b.y + b.height / 2) / r.height - 0.5)],
    border_px: Math.round(border * 10) / 10,
  };
}

const pool = new InferencePool({ modelsDir, size: positiveInt('threads', args.threads) });
const rows = await Promise.all(
  names.map(async (name, i) => {
    // Every face embedded: the ignored ones are compared with the identity too.
    const r = await pool.analyse(readFileSync(file(name, 1)), options('all'));
    const second =
      photoCount(name) >= 2 ? await pool.analyse(readFileSync(file(name, 2)), options('center')) : undefined;
    const reference = second?.faces[0]?.embedding;
    const distances = reference ? r.faces.map((f) => r3(cosineDistance(f.embedding, reference))) : null;
    return { i, name, r, distances, before: oldRefuses(r), after: dominantFace(r), outcome: outcome(r) };
  }),
);
await pool.close();

const refusedBefore = rows.filter((x) => x.before);
const refusedAfter = rows.filter((x) => !x.after.ok);
const accepted = refusedBefore.filter((x) => x.after.ok);
const checked = accepted.filter((x) => x.distances);
const right = checked.filter((x) => {
  const [own, ...others] = x.distances ?? [];
  return own !== undefined && others.every((d) => d > own);
});
const cases = refusedBefore.map((x) => {
  const main = x.r.detections[0]?.bbox as BoundingBox;
  return {
    name: x.name,
    index: x.i,
    faces: x.r.faces_detected,
    after: x.after.ok ? 'accepted' : x.after.reason,
    main: { height: main.height, ...describeFace(main, main, x.r) },
    others: x.r.detections.slice(1).map((d) => describeFace(d.bbox, main, x.r)),
    distances_to_second_photo: x.distances,
  };
});

// The first 100 enroll in one batch under DUPLICATE_POLICY=reject: their closest enrolled pair.
const first100 = rows.slice(0, 100).filter((x) => x.outcome === 'ENROLLED');
let closest = { distance: Infinity, pair: ['', ''] };
for (const [j, a] of first100.entries()) {
  for (const b of first100.slice(j + 1)) {
    const d = cosineDistance(a.r.faces[0]?.embedding ?? [], b.r.faces[0]?.embedding ?? []);
    if (d < closest.distance) closest = { distance: r3(d), pair: [a.name, b.name] };
  }
}
const rejects = (n: number) =>
  Object.fromEntries(
    rows.slice(0, n).flatMap((x) => (x.outcome === 'ENROLLED' ? [] : [[x.name, x.outcome]])),
  );
const summary = {
  photos: rows.length,
  with_several_faces: rows.filter((x) => x.r.faces_detected > 1).length,
  multiple_faces_before: refusedBefore.length,
  multiple_faces_after: refusedAfter.length,
  first_300: {
    before: refusedBefore.filter((x) => x.i < 300).length,
    after: refusedAfter.filter((x) => x.i < 300).length,
  },
  newly_accepted: accepted.length,
  identity_checked: checked.length,
  identity_right: right.length,
  identity_wrong: checked.filter((x) => !right.includes(x)).map((x) => x.name),
  newly_accepted_outcomes: Object.fromEntries(accepted.map((x) => [x.name, x.outcome])),
  first_100_failed: Object.keys(rejects(100)).length,
  first_100_closest_enrolled_pair: closest,
  first_300_rejects: rejects(300),
};

if (args.json) {
  console.log(JSON.stringify({ summary, cases }));
} else {
  for (const c of cases) {
    const others = c.others
      .map((o) => `${o.height_ratio}x @${o.centre_offset.join(',')} border ${o.border_px}px`)
      .join('; ');
    const d = c.distances_to_second_photo?.join(',') ?? '-';
    console.log(
      `${c.name.padEnd(32)} ${c.after.padEnd(20)} main @${c.main.centre_offset.join(',')} | ${others} | d ${d}`,
    );
  }
  console.log(JSON.stringify(summary, null, 2));
}
