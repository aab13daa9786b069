/**
 * The synthetic-augmented part of bench/openset.ts (`--gallery-distractors N`), offline: the
 * real-photo candidate lists from the API merged with each probe's nearest synthetic templates
 * (openset-synthetic.ts). Printed and reported apart from the real-photo figures.
 */
import { dot } from '../src/shared/face-math.js';
import { mergeCandidates, rankRate, type Search, type SizePoint } from './openset-metrics.js';
import {
  pct,
  printRates,
  printScoreTable,
  printSizeCurve,
  publishedRates,
  rowJson,
  scoreRows,
} from './openset-report.js';
import { mixtures, nearestSynthetic, syntheticDistances } from './openset-synthetic.js';
import { quantile, r2 } from './stats.js';

export interface AugmentedInput {
  searches: Search[];
  /** Per search, from POST /api/v1/embed; undefined where it found no face. */
  probeEmbeddings: (Float32Array | undefined)[];
  /** The enrolled single-photo distractors, the synthetic templates' sources. */
  sources: { id: string; embedding: Float32Array }[];
}

export interface AugmentedOptions {
  count: number;
  topK: number;
  seed: number;
  levels: [string, number][];
  realGallery: number;
}

const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;

export function syntheticSection(log: (s: string) => void, input: AugmentedInput, o: AugmentedOptions) {
  const { searches, probeEmbeddings, sources } = input;
  const sourceOf = new Map(sources.map((s) => [s.id, s.embedding]));

  // The offline distances must be the service's: /embed's face and the stored template agree
  // with what /identify reported for the same probe and distractor (rounded to 4 decimals there).
  let maxDiff = 0;
  let compared = 0;
  searches.forEach((s, i) => {
    const q = probeEmbeddings[i];
    if (!q) return;
    for (const c of s.candidates) {
      const e = sourceOf.get(c.id);
      if (!e) continue;
      maxDiff = Math.max(maxDiff, Math.abs(c.distance - (1 - dot(q, e))));
      compared++;
    }
  });

  const templates = mixtures(
    sources.map((s) => s.embedding),
    o.count,
    o.seed + 3,
  );
  const steps = [...new Set([Math.round(o.count / 10), Math.round(o.count / 3), o.count])].filter(
    (n) => n > 0,
  );
  const bySize = steps.map(() => [] as Search[]);
  // Impostor distances of every probe to the real distractors vs to the synthetic templates:
  // similar distributions (especially the low tail) mean the synthetic ones behave like people.
  const realImpostor: number[] = [];
  const synImpostor: number[] = [];
  let synTop1NonMated = 0;
  searches.forEach((s, i) => {
    const q = probeEmbeddings[i];
    const dist = q ? syntheticDistances(q, templates) : new Float64Array(0);
    if (q) {
      for (const src of sources) realImpostor.push(1 - dot(q, src.embedding));
      synImpostor.push(...dist);
    }
    steps.forEach((n, k) => {
      const merged = mergeCandidates(s.candidates, nearestSynthetic(dist, n, o.topK), o.topK);
      (bySize[k] as Search[]).push({ mate: s.mate, candidates: merged });
      if (k === steps.length - 1 && s.mate === null && merged[0]?.id.startsWith('syn-')) synTop1NonMated++;
    });
  });
  const full = bySize[bySize.length - 1] as Search[];
  const impostor = {
    real: { mean: mean(realImpostor), q001: quantile(realImpostor, 0.001) },
    synthetic: { mean: mean(synImpostor), q001: quantile(synImpostor, 0.001) },
  };
  const nonMated = full.filter((s) => s.mate === null).length;
  const gallery = o.realGallery + o.count;

  log(
    `\nSYNTHETIC-AUGMENTED (offline, not through the service): ${o.count} templates normalise(a + b) of two ` +
      `different enrolled distractors' embeddings (${sources.length} sources), gallery ${o.realGallery} real + ` +
      `${o.count} synthetic = ${gallery}`,
  );
  log(
    `  check: /embed + stored-template distances vs /identify's on ${compared} probe-distractor pairs: ` +
      `max |diff| ${maxDiff.toExponential(2)}`,
  );
  log(
    `  impostor distances, probes vs real distractors: mean ${r2(impostor.real.mean)}, 0.1 % quantile ` +
      `${impostor.real.q001.toFixed(3)}; vs synthetic: mean ${r2(impostor.synthetic.mean)}, 0.1 % quantile ` +
      `${impostor.synthetic.q001.toFixed(3)}`,
  );
  log(
    `  non-mated top-1 is synthetic in ${synTop1NonMated}/${nonMated} (${pct(synTop1NonMated / nonMated)}; ` +
      `synthetic share of the gallery ${pct(o.count / gallery)})`,
  );
  log(`  rank-1 ${pct(rankRate(full, 1))}   rank-5 ${pct(rankRate(full, 5))}`);
  const rows = scoreRows(full);
  printScoreTable(log, rows, nonMated);
  log(`  at the published thresholds, gallery ${gallery}:`);
  const atPublished = publishedRates(full, o.levels);
  printRates(log, atPublished);
  log(`  gallery size (real + first n synthetic):`);
  const curve: SizePoint[] = steps.map((n, k) => {
    const sub = bySize[k] as Search[];
    const rates = publishedRates(sub, o.levels);
    return {
      gallery: o.realGallery + n,
      repeats: 1,
      mated: rates[0]?.mated ?? 0,
      nonMated: rates[0]?.nonMated ?? 0,
      rank1: rankRate(sub, 1),
      fpir: rates.map((r) => r.fpir),
      fnir: rates.map((r) => r.fnir),
    };
  });
  printSizeCurve(
    log,
    curve,
    o.levels.map(([, t]) => t),
  );
  return {
    count: o.count,
    sources: sources.length,
    gallery,
    embed_vs_identify_max_abs_diff: maxDiff,
    impostor_distances: impostor,
    non_mated_top1_synthetic: synTop1NonMated,
    rank1: rankRate(full, 1),
    scores: rows.map(rowJson),
    published: Object.fromEntries(atPublished.map((r) => [r.level, { fpir: r.fpir, fnir: r.fnir }])),
    size_curve: curve,
  };
}
