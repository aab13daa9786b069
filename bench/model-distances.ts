/**
 * Measures the embedding model's genuine and impostor distance distributions and writes them
 * into the model pack (`models/<model>-distances.json`), where the open-set threshold model
 * (src/shared/open-set.ts) reads them.
 *
 *   npm run bench:model-distances -- --lfw ../shared/faces/lfw-dev [--out models/fr_feature-distances.json] [--json]
 *
 * Every photo of every identity goes through the production pipeline (largest face); every
 * pair of photos is scored: same identity = genuine, different = impostor. Counts, not rates,
 * are stored per threshold so a reader knows how many pairs each figure rests on.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { dot } from '../src/shared/face-math.js';
import { DISTANCE_GRID, type DistanceTable } from '../src/shared/open-set.js';
import { InferencePool } from '../src/worker/inference/pool.js';

const { values: args } = parseArgs({
  options: {
    lfw: { type: 'string' },
    out: { type: 'string' },
    threads: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
if (!args.lfw) {
  console.error('usage: bench:model-distances -- --lfw DIR [--out FILE] [--threads N] [--json]');
  process.exit(2);
}
const lfw = args.lfw;
const modelsDir = process.env.MODELS_DIR ?? resolve(import.meta.dirname, '..', '..', 'models');
const out = args.out ?? join(modelsDir, 'fr_feature-distances.json');
const threads = Number(args.threads ?? availableParallelism());

const photos = readdirSync(lfw, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .flatMap((d) =>
    readdirSync(join(lfw, d.name))
      .filter((f) => f.endsWith('.jpg'))
      .map((f) => ({ identity: d.name, file: join(d.name, f) })),
  )
  .sort((a, b) => (a.file < b.file ? -1 : 1));

const pool = new InferencePool({ modelsDir, size: threads });
const options = { maxPixels: 25_000_000, maxSide: 1920, tiling: 'auto', select: 'largest' } as const;
const embedded: { identity: string; embedding: Float32Array }[] = [];
let next = 0;
let noFace = 0;
async function drain(): Promise<void> {
  while (next < photos.length) {
    const p = photos[next++]!;
    const face = (await pool.analyse(readFileSync(join(lfw, p.file)), options)).faces[0];
    if (face) embedded.push({ identity: p.identity, embedding: face.embedding });
    else noFace++;
  }
}
await Promise.all(Array.from({ length: threads * 2 }, drain));
await pool.close();
embedded.sort((a, b) => (a.identity < b.identity ? -1 : a.identity > b.identity ? 1 : 0));

// Histogram in grid bins; cumulative "at or below threshold" counts afterwards.
const bins = DISTANCE_GRID.count;
const genuineBins = new Float64Array(bins);
const impostorBins = new Float64Array(bins);
const binOf = (d: number) =>
  Math.min(bins - 1, Math.max(0, Math.ceil((d - DISTANCE_GRID.from) / DISTANCE_GRID.step - 1e-9)));
let genuinePairs = 0;
let impostorPairs = 0;
for (let i = 0; i < embedded.length; i++) {
  const a = embedded[i]!;
  for (let j = i + 1; j < embedded.length; j++) {
    const b = embedded[j]!;
    const bin = binOf(1 - dot(a.embedding, b.embedding));
    if (a.identity === b.identity) {
      genuineBins[bin]!++;
      genuinePairs++;
    } else {
      impostorBins[bin]!++;
      impostorPairs++;
    }
  }
}
const cumulative = (h: Float64Array) => {
  const c: number[] = [];
  let s = 0;
  for (const v of h) c.push((s += v));
  return c;
};

const table: DistanceTable = {
  model: 'fr_feature@faceplugin-0.0.1',
  source: `LFW deep-funneled subset lfw-dev: ${new Set(embedded.map((e) => e.identity)).size} identities, ${embedded.length} photos, every pair (bench/model-distances.ts)`,
  metric: 'cosine_distance',
  grid: { from: DISTANCE_GRID.from, step: DISTANCE_GRID.step, count: bins },
  genuine_pairs: genuinePairs,
  impostor_pairs: impostorPairs,
  genuine_at_or_below: cumulative(genuineBins),
  impostor_at_or_below: cumulative(impostorBins),
};
writeFileSync(out, `${JSON.stringify(table)}\n`);
const summary = {
  photos: embedded.length,
  no_face: noFace,
  genuine_pairs: genuinePairs,
  impostor_pairs: impostorPairs,
  out,
};
console.log(
  `${embedded.length} photos (${noFace} without a face): ${genuinePairs} genuine and ${impostorPairs} impostor pairs -> ${out}`,
);
if (args.json) console.log(JSON.stringify(summary));
