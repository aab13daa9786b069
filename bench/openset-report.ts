/**
 * The figures bench/openset.ts prints and puts in its JSON line, computed from the searches
 * with the pure arithmetic of openset-metrics.ts.
 */
import {
  cohortMean,
  cohortZ,
  combined,
  detCurve,
  fnirAtFpir,
  margin,
  ratesAt,
  scoreSearches,
  top1,
  type AtFpir,
  type DecisionScore,
  type DetPoint,
  type Rates,
  type Search,
  type SizePoint,
} from './openset-metrics.js';

/** FPIR operating points of the FRTE 1:N reports. */
export const FPIR_TARGETS = [0.1, 0.01, 0.001];

/** Every rule evaluated offline; alpha values span "distance only" to "mostly margin". */
export const SCORES: { name: string; score: DecisionScore }[] = [
  { name: 'd1 (top-1 distance; service)', score: top1 },
  { name: 'margin -(d2-d1)', score: margin },
  { name: 'd1 - 0.5(d2-d1)', score: combined(0.5) },
  { name: 'd1 - 1(d2-d1)', score: combined(1) },
  { name: 'd1 - 2(d2-d1)', score: combined(2) },
  { name: 'cohort -z, d2..dk', score: cohortZ },
  { name: 'd1 - mean(d2..dk)', score: cohortMean },
];

export interface ScoreRow {
  name: string;
  atFpir: AtFpir[];
  det: DetPoint[];
}

export function scoreRows(searches: Search[]): ScoreRow[] {
  return SCORES.map(({ name, score }) => {
    const scored = scoreSearches(searches, score);
    return { name, atFpir: FPIR_TARGETS.map((t) => fnirAtFpir(scored, t)), det: detCurve(scored) };
  });
}

/** The rows with the lowest FNIR at FPIR 1 % (several when tied). */
export function bestAt1pct(rows: ScoreRow[]): ScoreRow[] {
  const at = (r: ScoreRow) => r.atFpir[1]?.fnir ?? Number.POSITIVE_INFINITY;
  const best = Math.min(...rows.map(at));
  return rows.filter((r) => at(r) === best);
}

export function publishedRates(
  searches: Search[],
  thresholds: [string, number][],
): (Rates & { level: string })[] {
  const scored = scoreSearches(searches, top1);
  return thresholds.map(([level, t]) => ({ level, ...ratesAt(scored, t) }));
}

export const pct = (v: number) => (Number.isFinite(v) ? `${(v * 100).toFixed(2)} %` : 'n/a');
const num = (v: number) => (Number.isFinite(v) ? v.toFixed(4) : String(v));

export function printScoreTable(log: (s: string) => void, rows: ScoreRow[], nonMated: number): void {
  const cell = (fnir: string, t: string) => `${fnir.padStart(9)}  ${t.padStart(9)}`;
  log(`  ${''.padEnd(34)}${FPIR_TARGETS.map((t) => `FPIR ${t * 100} %`.padStart(20).padEnd(22)).join('')}`);
  log(
    `  ${'decision score (match: score <= t)'.padEnd(34)}${FPIR_TARGETS.map(() => cell('FNIR', 't') + '  ').join('')}`,
  );
  for (const r of rows) {
    const cells = r.atFpir
      .map((a) => cell(`${pct(a.fnir)}${a.resolved ? ' ' : '*'}`, num(a.threshold)) + '  ')
      .join('');
    log(`  ${r.name.padEnd(34)}${cells}`);
  }
  const unresolved = FPIR_TARGETS.filter((t) => t * nonMated < 1);
  if (unresolved.length)
    log(
      `  * not resolved: ${nonMated} non-mated probes cannot measure FPIR ${unresolved.map((t) => `${t * 100} %`).join(', ')} ` +
        `(needs >= ${Math.ceil(1 / Math.min(...unresolved))}); shown at FPIR 0, the strictest reachable point`,
    );
  const best = bestAt1pct(rows);
  log(
    `  best at FPIR 1 %: ${best.map((r) => r.name).join(' = ')} (FNIR ${pct(best[0]?.atFpir[1]?.fnir ?? Number.NaN)})`,
  );
}

export function printRates(log: (s: string) => void, rates: (Rates & { level: string })[]): void {
  for (const r of rates)
    log(
      `  ${r.level.padEnd(30)} t ${num(r.threshold)}   FPIR ${pct(r.fpir).padStart(8)} (${r.falsePositives}/${r.nonMated})` +
        `   FNIR ${pct(r.fnir).padStart(8)}`,
    );
}

/** `thresholds` label the columns: FPIR and FNIR at each published threshold. */
export function printSizeCurve(log: (s: string) => void, points: SizePoint[], thresholds: number[]): void {
  log(
    `  ${'gallery'.padStart(7)}${'draws'.padStart(6)}${'mated'.padStart(7)}${'non-mated'.padStart(10)}${'rank-1'.padStart(9)}  ` +
      thresholds.map((t) => `FPIR@${t}`.padStart(11)).join('') +
      '  ' +
      thresholds.map((t) => `FNIR@${t}`.padStart(11)).join(''),
  );
  for (const p of points)
    log(
      `  ${String(p.gallery).padStart(7)}${String(p.repeats).padStart(6)}${p.mated.toFixed(0).padStart(7)}` +
        `${p.nonMated.toFixed(0).padStart(10)}${pct(p.rank1).padStart(9)}  ` +
        p.fpir.map((v) => pct(v).padStart(11)).join('') +
        '  ' +
        p.fnir.map((v) => pct(v).padStart(11)).join(''),
    );
}

/** A row for the JSON line: rates rounded to 5 decimals. */
export function rowJson(r: ScoreRow) {
  const r5 = (v: number) => (Number.isFinite(v) ? Math.round(v * 1e5) / 1e5 : null);
  return {
    name: r.name,
    at_fpir: r.atFpir.map((a) => ({
      target: a.target,
      fnir: r5(a.fnir),
      fpir: r5(a.fpir),
      threshold: r5(a.threshold),
      resolved: a.resolved,
    })),
  };
}
