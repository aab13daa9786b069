/**
 * Open-set 1:N thresholds. A stranger is compared with every one of N templates, so with a
 * per-comparison false accept rate FAR(t) the chance that *some* template falls under t is
 *
 *   FPIR(t, N) = 1 - (1 - FAR(t))^N        (~ N * FAR(t) while small)
 *
 * FAR 1e-4 (the old high-security 0.59) is ~20 % per stranger at 2,300 people and certain at
 * 1M. So every 1:N decision takes the threshold that meets a target FPIR at the size of the
 * gallery it searches. FAR(t) comes from the model pack's measured impostor distances; below
 * the smallest measured rates it is extrapolated with an exponential tail fitted to the lowest
 * measured decades (conservative: the real tail of these scores falls faster than exponential,
 * so the extrapolated FAR is too high and the threshold too strict rather than too loose).
 * Independence between comparisons is assumed; bench:openset measures how well that holds.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { ThresholdTable } from './thresholds.js';

/** Threshold grid of the model's distance tables: cosine distance 0..2 in steps of 0.0025. */
export const DISTANCE_GRID = { from: 0, step: 0.0025, count: 801 } as const;

export const DistanceTable = z.object({
  model: z.string(),
  source: z.string(),
  metric: z.literal('cosine_distance'),
  grid: z.object({ from: z.number(), step: z.number().positive(), count: z.number().int().positive() }),
  genuine_pairs: z.number().int().positive(),
  impostor_pairs: z.number().int().positive(),
  /** Pairs with distance <= grid[i], i = 0..count-1. */
  genuine_at_or_below: z.array(z.number().nonnegative()),
  impostor_at_or_below: z.array(z.number().nonnegative()),
});
export type DistanceTable = z.infer<typeof DistanceTable>;

/**
 * A measured FAR rests on at least this many accepted impostor pairs; below it the fitted tail
 * is used (a rate from 3 pairs is noise).
 */
const MIN_TAIL_PAIRS = 25;
/** The tail is fitted on measured rates at or below this (the decades nearest the extrapolation). */
const TAIL_FIT_MAX_FAR = 1e-3;

export interface TailFit {
  /** log10 FAR = intercept + slope * distance, used where fewer than MIN_TAIL_PAIRS were seen. */
  intercept: number;
  slope: number;
  /** Below this distance FAR is extrapolated, not measured. */
  measured_from: number;
  /** The smallest FAR that rests on measured pairs. */
  lowest_measured_far: number;
}

export interface OpenSetDecision {
  threshold: number;
  target_fpir: number;
  gallery_size: number;
  /** Per-comparison FAR at the threshold; `extrapolated` when below the measured range. */
  far: number;
  extrapolated: boolean;
  /** Share of genuine comparisons above the threshold: the FNIR of mated searches, at best. */
  expected_fnir: number;
  /** The threshold was held at `cap` (small galleries) rather than the target's. */
  capped: boolean;
}

/**
 * The pack's measured behaviour: its impostor/genuine distance tables (1:N thresholds for a
 * gallery size) and its published per-comparison thresholds (the manifest's).
 */
export class OpenSetModel {
  readonly tail: TailFit;

  constructor(
    readonly table: DistanceTable,
    readonly thresholds: ThresholdTable,
  ) {
    this.tail = fitTail(table);
  }

  static load(modelsDir: string, file: string, thresholds: ThresholdTable): OpenSetModel {
    return new OpenSetModel(
      DistanceTable.parse(JSON.parse(readFileSync(join(modelsDir, file), 'utf8'))),
      thresholds,
    );
  }

  /** Per-comparison false accept rate at threshold t (match = distance <= t). */
  far(t: number): number {
    if (t < this.tail.measured_from) return Math.min(1, 10 ** (this.tail.intercept + this.tail.slope * t));
    return interpolate(this.table, this.table.impostor_at_or_below, t) / this.table.impostor_pairs;
  }

  /** Per-comparison false reject rate at t. */
  frr(t: number): number {
    return 1 - interpolate(this.table, this.table.genuine_at_or_below, t) / this.table.genuine_pairs;
  }

  fpir(t: number, gallerySize: number): number {
    return 1 - (1 - this.far(t)) ** Math.max(0, gallerySize);
  }

  /**
   * The loosest threshold whose FPIR at `gallerySize` stays within `targetFpir`, but never
   * looser than `cap` (a per-comparison threshold that bounds tiny galleries).
   */
  decide(targetFpir: number, gallerySize: number, cap: number): OpenSetDecision {
    // Per comparison the target allows FAR = 1 - (1 - p)^(1/N); FAR(t) is monotone in t.
    const n = Math.max(1, gallerySize);
    const allowed = -Math.expm1(Math.log1p(-targetFpir) / n);
    let lo = 0;
    let hi = 2;
    for (let i = 0; i < 50; i++) {
      const mid = (lo + hi) / 2;
      if (this.far(mid) <= allowed) lo = mid;
      else hi = mid;
    }
    const capped = lo > cap;
    const threshold = Math.round((capped ? cap : lo) * 10000) / 10000;
    return {
      threshold,
      target_fpir: targetFpir,
      gallery_size: gallerySize,
      far: this.far(threshold),
      extrapolated: threshold < this.tail.measured_from,
      expected_fnir: this.frr(threshold),
      capped,
    };
  }
}

/** Linear interpolation of cumulative counts between grid points. */
function interpolate(table: DistanceTable, counts: number[], t: number): number {
  const x = (t - table.grid.from) / table.grid.step;
  if (x <= 0) return counts[0] ?? 0;
  const i = Math.floor(x);
  if (i >= counts.length - 1) return counts.at(-1) ?? 0;
  const a = counts[i] ?? 0;
  const b = counts[i + 1] ?? a;
  return a + (b - a) * (x - i);
}

/** Least-squares line through log10 FAR on the grid points with enough pairs and FAR <= 1e-3. */
function fitTail(table: DistanceTable): TailFit {
  const xs: number[] = [];
  const ys: number[] = [];
  let measuredFrom = Number.POSITIVE_INFINITY;
  let lowest = 1;
  table.impostor_at_or_below.forEach((count, i) => {
    const far = count / table.impostor_pairs;
    if (count < MIN_TAIL_PAIRS) return;
    const t = table.grid.from + i * table.grid.step;
    measuredFrom = Math.min(measuredFrom, t);
    lowest = Math.min(lowest, far);
    if (far > TAIL_FIT_MAX_FAR) return;
    xs.push(t);
    ys.push(Math.log10(far));
  });
  if (xs.length < 3) throw new Error(`${table.model}: too few impostor pairs to fit the FAR tail`);
  const mx = xs.reduce((s, v) => s + v, 0) / xs.length;
  const my = ys.reduce((s, v) => s + v, 0) / ys.length;
  let sxy = 0;
  let sxx = 0;
  xs.forEach((x, i) => {
    sxy += (x - mx) * ((ys[i] as number) - my);
    sxx += (x - mx) ** 2;
  });
  const slope = sxy / sxx;
  // The fitted slope, anchored at the last measured point so FAR(t) is continuous there.
  const intercept = Math.log10(lowest) - slope * measuredFrom;
  return { intercept, slope, measured_from: measuredFrom, lowest_measured_far: lowest };
}
