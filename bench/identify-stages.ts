/**
 * Where a 1:N query's CPU goes: builds a GalleryIndex of --gallery templates as bench:identify
 * does (identify-gallery.ts: real lfw-dev embeddings with --real, else random "people", padded
 * with synthetic look-alikes) and times each step of GalleryIndex.rank()/search() separately,
 * re-running them on the index's own arrays with the same kernels, over --queries queries.
 *
 *   node --expose-gc dist/bench/identify-stages.js [--gallery 1000000] [--queries 300]
 *       [--real ../shared/faces/lfw-dev] [--json]
 *
 * Prints the median and mean milliseconds of every stage, their sum, and the median of one
 * whole index.search() timed on its own (which should be close to the sum). The index itself
 * runs the first two stages as one call (shortlistByCode: each row scored as the scan takes
 * it); that call is timed on its own too, against the two stages' sum.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { dot } from '../src/shared/face-math.js';
import { GalleryIndex } from '../src/worker/matching/gallery-index.js';
import { codeTable, kernels, kernelsName } from '../src/worker/matching/native-codes.js';
import { codeBytes, quantize, signCode } from '../src/worker/matching/quantize.js';
import { codeHeadBytes, type SegmentState } from '../src/worker/matching/segment.js';
import { BenchGallery, indexOfTemplate, syntheticFaces } from './identify-gallery.js';
import { realEmbeddings } from './real-embeddings.js';
import { r2 } from './stats.js';

const { values: args } = parseArgs({
  options: {
    gallery: { type: 'string', default: '1000000' },
    queries: { type: 'string', default: '300' },
    real: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const N = Number(args.gallery);
const DIM = 512;
const K = 5;
const faces = args.real ? await realEmbeddings(args.real) : syntheticFaces(DIM);
const data = new BenchGallery(faces, N, DIM);
const queries = data.queries.slice(0, Number(args.queries));
const lookup = data.lookup;
const index = new GalleryIndex(DIM, lookup);
index.reserve(null, N);
for (let s = 0; s < N; s += 10_000) index.add(data.entries(s, Math.min(N, s + 10_000)));
const only = index.state.segments[0];
if (!only || !only.int8) throw new Error('expected one int8 segment');
const seg: SegmentState = only;
const users = index.state.users;
const { head, tail, int8, size } = seg;
const hb = codeHeadBytes(DIM);
const tb = codeBytes(DIM) - hb;

const stages = [
  'signCode+quantize+codeTable',
  'hammingTopK2',
  'codeTopN 5000 -> 1000',
  'dotI8 (rerank)',
  'merge/sort/pick',
  'exact lookup',
  'exact re-rank+candidates',
] as const;
const times = new Map<string, number[]>(stages.map((s) => [s, []]));
/** shortlistByCode (the index's scan and pick of `rerank` in one call), per query. */
const fused: number[] = [];
const whole: number[] = [];

function stagedQuery(q: Float32Array): number {
  const t: number[] = [performance.now()];
  const code = new Uint8Array(codeBytes(DIM));
  signCode(q, code);
  const query8 = new Int8Array(DIM);
  quantize(q, query8, 0, index.int8Scale);
  const table = codeTable(query8);
  t.push(performance.now());
  const k = Math.min(index.shortlist, size);
  let rows = kernels
    .hammingTopK2(head, tail, size, code.subarray(0, hb), code.subarray(hb), size, k)
    .subarray(0, k);
  t.push(performance.now());
  rows = kernels.codeTopN(head, hb, tail, tb, rows, table, index.rerank);
  t.push(performance.now());
  const s8 = kernels.dotI8(int8 as Int8Array, DIM, rows, query8);
  t.push(performance.now());
  const reads = Math.max(32, K * 8);
  const cut = Int32Array.from(s8).sort()[s8.length - reads] as number;
  let ties = reads - s8.filter((x) => x > cut).length;
  const picked: { u: number; templateId: string }[] = [];
  for (let i = 0; i < rows.length; i++) {
    const x = s8[i] as number;
    if (x < cut || (x === cut && ties-- <= 0)) continue;
    const at = rows[i] as number;
    picked.push({ u: seg.user[at] as number, templateId: seg.templateIds.get(at) });
  }
  t.push(performance.now());
  // The bench's lookup is synchronous underneath; time it without the await.
  const exact = new Map(picked.map((p) => [p.templateId, data.vector(indexOfTemplate(p.templateId))]));
  t.push(performance.now());
  const bestOf = new Map<number, { p: (typeof picked)[number]; similarity: number }>();
  for (const p of picked) {
    const e = exact.get(p.templateId);
    if (!e) continue;
    const similarity = dot(q, e);
    const prior = bestOf.get(p.u);
    if (!prior || similarity > prior.similarity) bestOf.set(p.u, { p, similarity });
  }
  const out = [...bestOf.values()].map(({ p, similarity }) => ({
    user_id: users.ids.get(p.u),
    name: users.names.get(p.u),
    template_id: p.templateId,
    similarity,
  }));
  out.sort((a, b) => b.similarity - a.similarity);
  t.push(performance.now());
  const f = performance.now();
  const picked2 = kernels.shortlistByCode(
    head,
    tail,
    size,
    code.subarray(0, hb),
    code.subarray(hb),
    k,
    table,
    index.rerank,
  );
  fused.push(performance.now() - f);
  if (picked2.length !== rows.length || picked2.some((r, i) => r !== rows[i]))
    throw new Error('shortlistByCode differs from hammingTopK2 + codeTopN');
  for (let i = 0; i < stages.length; i++)
    (times.get(stages[i] as string) as number[]).push((t[i + 1] as number) - (t[i] as number));
  return out.length;
}

const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
for (let w = 0; w < 5; w++) stagedQuery((queries[w] as (typeof queries)[number]).embedding);
for (const s of stages) (times.get(s) as number[]).length = 0;
fused.length = 0;
global.gc?.();
const c0 = process.cpuUsage();
for (const q of queries) stagedQuery(q.embedding);
const cStaged = process.cpuUsage(c0);
const c1 = process.cpuUsage();
for (const q of queries) {
  const t = performance.now();
  await index.search(q.embedding, { topK: K });
  whole.push(performance.now() - t);
}
const cWhole = process.cpuUsage(c1);

console.log(
  `identify-stages: ${N} templates, ${queries.length} queries, kernel ${kernelsName} (wall ms per query)`,
);
const rows = stages.map((s) => {
  const xs = times.get(s) as number[];
  return { stage: s, p50_ms: r2(med(xs) * 1000) / 1000, mean_ms: r2(mean(xs) * 1000) / 1000 };
});
for (const r of rows)
  console.log(`  ${r.stage.padEnd(30)} p50 ${r.p50_ms.toFixed(3)}  mean ${r.mean_ms.toFixed(3)}`);
const sum = rows.reduce((a, r) => a + r.mean_ms, 0);
const cpuStaged = (cStaged.user + cStaged.system) / 1000 / queries.length;
const cpuWhole = (cWhole.user + cWhole.system) / 1000 / queries.length;
console.log(
  `  ${'sum of means'.padEnd(30)} ${sum.toFixed(3)}  (CPU per staged query ${cpuStaged.toFixed(3)})`,
);
console.log(
  `  ${'shortlistByCode (both above)'.padEnd(30)} p50 ${med(fused).toFixed(3)}  mean ${mean(fused).toFixed(3)}`,
);
console.log(
  `  ${'index.search() alone'.padEnd(30)} p50 ${med(whole).toFixed(3)}  mean ${mean(whole).toFixed(3)}  (CPU per query ${cpuWhole.toFixed(3)})`,
);
if (args.json)
  console.log(
    JSON.stringify({
      gallery: N,
      queries: queries.length,
      kernel: kernelsName,
      stages: rows,
      sum_mean_ms: r2(sum * 1000) / 1000,
      shortlist_by_code_p50_ms: r2(med(fused) * 1000) / 1000,
      search_p50_ms: r2(med(whole) * 1000) / 1000,
      search_cpu_ms: r2(cpuWhole * 1000) / 1000,
    }),
  );
