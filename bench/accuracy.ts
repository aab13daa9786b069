/**
 * LFW verification accuracy through the production pipeline and pool.
 *
 *   npm run bench:accuracy -- --lfw ../shared/faces/lfw-dev --pairs ../shared/faces/lfw-dev/pairs-dev.txt [--threads N] [--json]
 *
 * Reports the 10-fold accuracy (mean, std), the best threshold as cosine similarity and cosine
 * distance, EER, TAR at FAR 1e-3 / 1e-4 over every impostor pair the photos allow, photos with
 * no face, and photos/s. With --json the last line is one JSON object.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { dot } from '../src/shared/face-math.js';
import { InferencePool } from '../src/worker/inference/pool.js';
import { equalErrorRate, thresholdAtFar } from '../src/shared/calibration.js';
import { bestThreshold, readPairs, tenFold } from './lfw.js';

const { values: args } = parseArgs({
  options: {
    lfw: { type: 'string' },
    pairs: { type: 'string' },
    threads: { type: 'string' },
    select: { type: 'string', default: 'largest' },
    json: { type: 'boolean', default: false },
  },
});
if (!args.lfw || !args.pairs) {
  console.error(
    'usage: bench:accuracy -- --lfw DIR --pairs FILE [--threads N] [--select largest|center] [--json]',
  );
  process.exit(2);
}
const select = args.select === 'center' ? 'center' : 'largest';
const threads = Number(args.threads ?? availableParallelism());
const modelsDir = process.env.MODELS_DIR ?? resolve(import.meta.dirname, '..', '..', 'models');

const pairs = readPairs(args.pairs);
const photos = [...new Set(pairs.flatMap((p) => [p.a, p.b]))].sort();
const pool = new InferencePool({ modelsDir, size: threads });
const options = { maxPixels: 25_000_000, maxSide: 1920, tiling: 'auto', select } as const;

await pool.warmUp(readFileSync(join(args.lfw, photos[0] ?? '')), options);
const embeddings = new Map<string, Float32Array>();
const noFace: string[] = [];
const started = performance.now();
let next = 0;
async function drain(): Promise<void> {
  while (next < photos.length) {
    const photo = photos[next++] as string;
    const result = await pool.analyse(readFileSync(join(args.lfw as string, photo)), options);
    const face = result.faces[0];
    if (face) embeddings.set(photo, face.embedding);
    else noFace.push(photo);
  }
}
await Promise.all(Array.from({ length: threads * 2 }, drain));
const seconds = (performance.now() - started) / 1000;
await pool.close();

// A pair with a photo where no face was found counts as "different": it cannot verify.
const sim = (a: string, b: string) => {
  const ea = embeddings.get(a);
  const eb = embeddings.get(b);
  return ea && eb ? dot(ea, eb) : -1;
};
const scored = pairs.map((p) => ({ ...p, sim: sim(p.a, p.b) }));
const folds = tenFold(scored);
const best = bestThreshold(scored);

// Every genuine and impostor pair among the photos, not only the listed ones.
const ids = [...embeddings.keys()];
const identity = (photo: string) => photo.split(/[\\/]/)[0];
const genuine: number[] = [];
const impostor: number[] = [];
for (let i = 0; i < ids.length; i++) {
  for (let j = i + 1; j < ids.length; j++) {
    const s = dot(embeddings.get(ids[i] as string)!, embeddings.get(ids[j] as string)!);
    (identity(ids[i] as string) === identity(ids[j] as string) ? genuine : impostor).push(s);
  }
}
// The same EER and FAR-threshold arithmetic as GET /api/v1/calibration, on cosine distances.
const ascendingDistances = (sims: number[]) => Float32Array.from(sims, (s) => 1 - s).sort();
const g = ascendingDistances(genuine);
const im = ascendingDistances(impostor);
const eerAt = equalErrorRate(g, im);
const eer = { eer: eerAt.eer, threshold: 1 - eerAt.threshold };
const atFar = (target: number) => {
  const r = thresholdAtFar(g, im, target);
  if (r.threshold === null || r.frr === null) throw new Error(r.reason ?? `FAR ${target} not resolvable`);
  return { tar: 1 - r.frr, threshold: 1 - r.threshold };
};
const far3 = atFar(1e-3);
const far4 = atFar(1e-4);

const r4 = (v: number) => Math.round(v * 10000) / 10000;
const report = {
  pairs: pairs.length,
  photos: photos.length,
  photos_no_face: noFace.length,
  accuracy_mean: r4(folds.mean),
  accuracy_std: r4(folds.std),
  best_threshold_similarity: r4(best),
  best_threshold_distance: r4(1 - best),
  eer: r4(eer.eer),
  eer_threshold_similarity: r4(eer.threshold),
  eer_threshold_distance: r4(1 - eer.threshold),
  genuine_pairs_all: g.length,
  impostor_pairs_all: im.length,
  tar_at_far_1e3: r4(far3.tar),
  far_1e3_threshold_similarity: r4(far3.threshold),
  far_1e3_threshold_distance: r4(1 - far3.threshold),
  tar_at_far_1e4: r4(far4.tar),
  far_1e4_threshold_similarity: r4(far4.threshold),
  far_1e4_threshold_distance: r4(1 - far4.threshold),
  photos_per_s: Math.round((photos.length / seconds) * 10) / 10,
  threads,
  select,
};

const pct = (v: number) => `${(v * 100).toFixed(2)} %`;
console.log(
  `LFW 10-fold on ${pairs.length} pairs, ${photos.length} photos (${threads} threads, face: ${select})`,
);
console.log(
  `  photos with no face      ${noFace.length}${noFace.length ? ` (${noFace.slice(0, 5).join(', ')})` : ''}`,
);
console.log(`  accuracy                 ${pct(folds.mean)} ± ${pct(folds.std)}`);
console.log(
  `  best threshold           similarity ${report.best_threshold_similarity}  distance ${report.best_threshold_distance}`,
);
console.log(`  EER                      ${pct(eer.eer)} at distance ${report.eer_threshold_distance}`);
console.log(
  `  TAR @ FAR 1e-3           ${pct(far3.tar)} at distance ${report.far_1e3_threshold_distance} (${im.length} impostor pairs)`,
);
console.log(`  TAR @ FAR 1e-4           ${pct(far4.tar)} at distance ${report.far_1e4_threshold_distance}`);
console.log(`  throughput               ${report.photos_per_s} photos/s`);
if (args.json) console.log(JSON.stringify(report));
