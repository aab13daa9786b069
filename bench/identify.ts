/**
 * 1:N identification at scale, on synthetic unit vectors (no photos needed).
 *
 *   npm run bench:identify -- --gallery 1000000 [--queries 200] [--top-k 5] [--json]
 *
 * Builds the worker's GalleryIndex with N templates, then times top-k queries. Queries are noisy
 * copies of gallery vectors (cosine ~0.7, like a new photo of an enrolled person). The exact
 * re-rank reads embeddings through a lookup, as the worker reads the store; here vectors are
 * regenerated from their seed so the bench needs no 2 GB float copy. Reports p50/p99, build
 * time, index memory, and recall@1 against a float brute-force search on a sample of queries.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { dot } from '../src/shared/face-math.js';
import { GalleryIndex } from '../src/worker/matching/gallery-index.js';
import { r2 } from './stats.js';
import { mulberry32 } from '../src/shared/prng.js';

const { values: args } = parseArgs({
  options: {
    gallery: { type: 'string', default: '1000000' },
    queries: { type: 'string', default: '200' },
    'top-k': { type: 'string', default: '5' },
    groups: { type: 'string', default: '1' },
    'exact-check': { type: 'string', default: '10' },
    json: { type: 'boolean', default: false },
  },
});
const N = Number(args.gallery);
const Q = Number(args.queries);
const K = Number(args['top-k']);
const GROUPS = Number(args.groups);
const DIM = 512;

/** Deterministic unit vector for template i (mulberry32 + Box-Muller). */
function vector(seed: number, out = new Float32Array(DIM)): Float32Array {
  const rand = mulberry32(seed * 2654435761);
  let s = 0;
  for (let i = 0; i < DIM; i += 2) {
    const r = Math.sqrt(-2 * Math.log(rand() + 1e-12));
    const th = 2 * Math.PI * rand();
    out[i] = r * Math.cos(th);
    out[i + 1] = r * Math.sin(th);
  }
  for (let i = 0; i < DIM; i++) s += (out[i] as number) ** 2;
  const n = Math.sqrt(s);
  for (let i = 0; i < DIM; i++) out[i] = (out[i] as number) / n;
  return out;
}

const idOf = (i: number) => `t${i}`;
const seedOf = (id: string) => Number(id.slice(1));
const index = new GalleryIndex(DIM, (ids) =>
  Promise.resolve(new Map(ids.map((id) => [id, vector(seedOf(id))]))),
);

const rssBefore = process.memoryUsage().rss;
let t = performance.now();
const scratch = new Float32Array(DIM);
for (let start = 0; start < N; start += 10_000) {
  const batch = [];
  for (let i = start; i < Math.min(N, start + 10_000); i++) {
    batch.push({
      template_id: idOf(i),
      user_id: `u${i}`,
      name: `User ${i}`,
      group: `g${i % GROUPS}`,
      embedding: vector(i),
    });
  }
  index.add(batch);
}
const buildMs = performance.now() - t;
global.gc?.();
const rssAfter = process.memoryUsage().rss;

/** A new "photo" of template `src`: its vector plus noise, renormalised (cosine ~0.7). */
function query(src: number, k: number): Float32Array {
  const base = vector(src);
  const noise = vector(1e9 + k);
  const q = new Float32Array(DIM);
  for (let i = 0; i < DIM; i++) q[i] = 0.7 * (base[i] as number) + 0.71 * (noise[i] as number);
  const n = Math.sqrt(dot(q, q));
  for (let i = 0; i < DIM; i++) q[i] = (q[i] as number) / n;
  return q;
}

const lat: number[] = [];
let hits = 0;
const sources: number[] = [];
for (let k = 0; k < Q + 5; k++) {
  const src = (k * 7919 * 104729) % N;
  const q = query(src, k);
  t = performance.now();
  const res = await index.search(q, { topK: K });
  const ms = performance.now() - t;
  if (k < 5) continue; // warm-up
  lat.push(ms);
  sources.push(src);
  if (res[0]?.user_id === `u${src}`) hits++;
}
lat.sort((a, b) => a - b);
const pct = (p: number) => lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))] as number;

// Float brute force on a sample: is the index's top-1 the exact top-1?
let exactAgree = 0;
const checks = Math.min(Number(args['exact-check']), sources.length);
for (let k = 0; k < checks; k++) {
  const q = query(sources[k] as number, k + 5);
  let best = -2;
  let bestId = -1;
  for (let i = 0; i < N; i++) {
    const s = dot(q, vector(i, scratch));
    if (s > best) [best, bestId] = [s, i];
  }
  const res = await index.search(q, { topK: 1 });
  if (res[0]?.user_id === `u${bestId}`) exactAgree++;
}

const report = {
  gallery: N,
  groups: GROUPS,
  queries: lat.length,
  top_k: K,
  p50_ms: r2(pct(50)),
  p99_ms: r2(pct(99)),
  build_s: r2(buildMs / 1000),
  index_mb: r2(index.bytes / 2 ** 20),
  rss_growth_mb: r2((rssAfter - rssBefore) / 2 ** 20),
  recall_at_1_source: r2(hits / lat.length),
  agrees_with_exact_float_top1: `${exactAgree}/${checks}`,
  layout:
    'int8 matrix per group, SIMD brute-force scan (usearch exactSearch, 1 thread), exact float re-rank of the top candidates',
};
console.log(`identify: ${N} templates in ${GROUPS} group(s), top-${K}, ${lat.length} queries`);
console.log(`  latency      p50 ${report.p50_ms} ms   p99 ${report.p99_ms} ms`);
console.log(`  build        ${report.build_s} s (quantise + pack)`);
console.log(`  memory       index ${report.index_mb} MB, process growth ${report.rss_growth_mb} MB`);
console.log(
  `  recall@1     ${report.recall_at_1_source} (query's source template first); agrees with float brute force ${report.agrees_with_exact_float_top1}`,
);
if (args.json) console.log(JSON.stringify(report));
