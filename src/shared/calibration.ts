/**
 * Threshold calibration on an operator's own gallery: genuine distances (pairs of one user's
 * templates) against impostor distances (pairs of different users), FAR/FRR over cosine-distance
 * thresholds, the equal-error point and the thresholds for target FARs. Pure: the API route and
 * the CLI both render from the same report. A match is `distance <= threshold` everywhere.
 */
import { dot } from './face-math.js';
import type { ThresholdLevel, ThresholdLevels } from './thresholds.js';
import { mulberry32 } from './prng.js';

/** `embedding` is L2-normalised, so cosine distance = 1 - dot; `template_id` fixes the order. */
export type CalibrationEntry = { user_id: string; template_id?: string; embedding: Float32Array };

export type CalibrationOptions = {
  /** The pack's published cosine thresholds (its manifest): measured on this gallery, and the recommendation's basis. */
  thresholds: ThresholdLevels;
  group?: string | null;
  model?: string | null;
  /** Above this many impostor pairs a uniform random sample of this size is used instead. */
  maxImpostorPairs?: number;
  seed?: number;
  /** Threshold grid of the curves: 0..maxDistance in `step`; histogram bins of `binWidth`. */
  step?: number;
  maxDistance?: number;
  binWidth?: number;
};

export type RatePoint = { threshold: number; far: number; frr: number };
/** `threshold` null (with `reason`) when there are too few impostor pairs to resolve the FAR. */
export type FarTarget = { target_far: number; reason: string | null } & {
  [K in keyof RatePoint]: number | null;
};
export type DistanceSummary = { mean: number; median: number; min: number; max: number };
export type Recommendation = {
  threshold: number;
  level: ThresholdLevel | 'custom';
  basis: 'published' | 'far_target';
  reason: string;
};

export type CalibrationReport = {
  status: 'ok' | 'insufficient_data';
  message: string;
  /** What is needed before the numbers mean anything (empty when status is ok). */
  missing: string[];
  group: string | null;
  model: string | null;
  metric: 'cosine';
  decision_rule: 'match when distance <= threshold';
  counts: { users: number; users_with_2plus_templates: number; templates: number } & PairCounts;
  impostor_sampling: { method: 'all' | 'sample'; pairs: number; total_pairs: number } & Sampling;
  distances: Both<DistanceSummary | null>;
  eer: Eer | null;
  far_targets: FarTarget[];
  /** The pack's published thresholds (its manifest) measured on this gallery. */
  published: (RatePoint & { level: ThresholdLevel })[];
  recommendation: Recommendation | null;
  curves: { threshold: number[]; far: number[]; frr: number[] } | null;
  /** Pair counts per bin; `overflow` counts pairs at or beyond max_distance. */
  histogram: ({ bin_width: number; max_distance: number; overflow: Both<number> } & Both<number[]>) | null;
};
type Both<T> = { genuine: T; impostor: T };
type Eer = { eer: number; threshold: number };
type PairCounts = { genuine_pairs: number; impostor_pairs: number };
type Sampling = { max_pairs: number; seed: number | null };

const DEFAULTS = { maxImpostorPairs: 2_000_000, seed: 0x5eed, step: 0.005, maxDistance: 1.2, binWidth: 0.02 };
const TARGET_FARS = [1e-3, 1e-4];
/** A FAR of f is only resolved with at least ~10 impostors accepted at it, i.e. 10/f pairs. */
const MIN_ACCEPTED = 10;
/** Pairs computed between yields of the async driver (~30 ms of work). */
const CHUNK = 65_536;

type Distances = Both<Float32Array> & { totalImpostor: number; sampled: boolean };

/**
 * Every genuine pair and every (or a sample of) impostor pair. A generator so the async driver
 * can yield to the event loop between chunks: 2 M pairs are about a second of CPU.
 */
function* pairDistances(entries: CalibrationEntry[], o: Options): Generator<void, Distances> {
  // Sorted by user: a user's templates are one block, and the order (thus the sample) is stable.
  const key = (e: CalibrationEntry) => `${e.user_id}\u0000${e.template_id ?? ''}`;
  const sorted = [...entries].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  const rows = sorted.map((e) => e.embedding);
  const n = rows.length;
  const blockEnd = new Int32Array(n);
  let genuineCount = 0;
  for (let i = n - 1; i >= 0; i--) {
    const same = i + 1 < n && sorted[i + 1]?.user_id === sorted[i]?.user_id;
    blockEnd[i] = same ? (blockEnd[i + 1] as number) : i + 1;
    genuineCount += (blockEnd[i] as number) - i - 1;
  }
  const genuine = new Float32Array(genuineCount);
  let g = 0;
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < (blockEnd[i] as number); j++) genuine[g++] = 1 - dot(rows[i]!, rows[j]!);

  const totalImpostor = (n * (n - 1)) / 2 - genuineCount;
  const sampled = totalImpostor > o.maxImpostorPairs;
  const impostor = new Float32Array(sampled ? o.maxImpostorPairs : totalImpostor);
  let k = 0;
  if (!sampled) {
    let sinceYield = 0;
    for (let i = 0; i < n; i++) {
      for (let j = blockEnd[i] as number; j < n; j++) impostor[k++] = 1 - dot(rows[i]!, rows[j]!);
      sinceYield += n - (blockEnd[i] as number);
      if (sinceYield >= CHUNK) {
        sinceYield = 0;
        yield;
      }
    }
  } else {
    const rand = mulberry32(o.seed); // deterministic: the same gallery gives the same sample and report
    while (k < impostor.length) {
      const i = Math.floor(rand() * n);
      const j = Math.floor(rand() * n);
      if (sorted[i]?.user_id === sorted[j]?.user_id) continue;
      impostor[k++] = 1 - dot(rows[i]!, rows[j]!);
      if (k % CHUNK === 0) yield;
    }
  }
  yield; // sorting 2 M floats takes ~0.3 s: its own turn of the event loop
  return { genuine: genuine.sort(), impostor: impostor.sort(), totalImpostor, sampled };
}

/** Number of values <= t (or < t when `strict`) in an ascending array. */
function countAtMost(sorted: Float32Array, t: number, strict = false): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const v = sorted[mid] as number;
    if (strict ? v < t : v <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const round = (x: number, digits: number) => Number(x.toFixed(digits));
const r4 = (x: number) => round(x, 4);
const p4 = (x: number) => Number(x.toPrecision(4));

/** FAR and FRR (4 significant digits) of "match when distance <= t" on ascending distances. */
export function ratesAt(genuine: Float32Array, impostor: Float32Array, t: number): RatePoint {
  const far = p4(countAtMost(impostor, t) / impostor.length);
  return { threshold: t, far, frr: p4(1 - countAtMost(genuine, t) / genuine.length) };
}

/**
 * The equal error rate. Rates only change at observed distances, so the walk visits those; where
 * FRR - FAR changes sign between two of them, both the rate and the threshold are interpolated
 * linearly; where FAR = FRR over a stretch (e.g. perfect separation), its midpoint is taken.
 */
export function equalErrorRate(genuine: Float32Array, impostor: Float32Array): Eer {
  let i = 0;
  let j = 0;
  let prev = { t: Math.min(genuine[0] ?? 0, impostor[0] ?? 0), far: 0, frr: 1 };
  const next = () => Math.min(genuine[i] ?? Infinity, impostor[j] ?? Infinity);
  while (i < genuine.length || j < impostor.length) {
    const t = next();
    while (i < genuine.length && (genuine[i] as number) <= t) i++;
    while (j < impostor.length && (impostor[j] as number) <= t) j++;
    const far = j / impostor.length;
    const frr = 1 - i / genuine.length;
    const gap = frr - far;
    if (gap === 0) {
      const after = next();
      return { eer: far, threshold: Number.isFinite(after) ? (t + after) / 2 : t };
    }
    if (gap < 0) {
      const prevGap = prev.frr - prev.far;
      const a = prevGap / (prevGap - gap);
      return { eer: prev.far + a * (far - prev.far), threshold: prev.t + a * (t - prev.t) };
    }
    prev = { t, far, frr };
  }
  return { eer: 0, threshold: prev.t }; // not reached: at the largest distance FRR = 0 < FAR
}

/**
 * The largest threshold accepting at most floor(target * n) impostors: between the last accepted
 * impostor distance and the first rejected one (ties rejected together), rounded as far as that
 * stays between them. Null with a reason when there are too few impostor pairs.
 */
export function thresholdAtFar(genuine: Float32Array, impostor: Float32Array, target: number): FarTarget {
  const need = Math.ceil(MIN_ACCEPTED / target);
  if (impostor.length < need) {
    const reason = `only ${impostor.length} impostor pairs; resolving FAR ${target} needs at least ${need}`;
    return { target_far: target, threshold: null, far: null, frr: null, reason };
  }
  const first = impostor[Math.floor(target * impostor.length)] as number;
  const j = countAtMost(impostor, first, true);
  const below = j > 0 ? (impostor[j - 1] as number) : first - 1e-4;
  // The midpoint with the fewest decimals (at least 4) that still lies between the two distances.
  const mid = (below + first) / 2;
  const t = [4, 5, 6, 7, 8].map((d) => round(mid, d)).find((v) => v >= below && v < first) ?? mid;
  const r = ratesAt(genuine, impostor, t);
  return { target_far: target, threshold: t, far: r.far, frr: r.frr, reason: null };
}

function summary(sorted: Float32Array): DistanceSummary | null {
  if (sorted.length === 0) return null;
  const mean = sorted.reduce((sum, v) => sum + v, 0) / sorted.length;
  const [median, min, max] = [sorted[sorted.length >> 1], sorted[0], sorted.at(-1)].map((v) => r4(v ?? 0));
  return { mean: r4(mean), median: median!, min: min!, max: max! };
}

/** Pair counts per bin of [0, maxDistance); 1 - dot can be -1e-7 for identical vectors. */
function histograms(d: Distances, o: Options): NonNullable<CalibrationReport['histogram']> {
  const bins = (values: Float32Array) => {
    const out = new Array<number>(Math.round(o.maxDistance / o.binWidth)).fill(0);
    for (const v of values) {
      const b = Math.floor(Math.max(0, v) / o.binWidth);
      if (b < out.length) out[b] = (out[b] as number) + 1;
    }
    return out;
  };
  const over = (values: Float32Array) => values.length - countAtMost(values, o.maxDistance, true);
  const [genuine, impostor] = [bins(d.genuine), bins(d.impostor)];
  return {
    bin_width: o.binWidth,
    max_distance: o.maxDistance,
    genuine,
    impostor,
    overflow: { genuine: over(d.genuine), impostor: over(d.impostor) },
  };
}

const pct = (x: number) => `${x === 0 ? 0 : Number((x * 100).toPrecision(2))} %`;

/** Which threshold to use, in words, against the published balanced (FAR 1e-3) threshold. */
function recommend(
  r: CalibrationReport,
  t3: FarTarget,
  bal: RatePoint,
  published: ThresholdLevels,
): Recommendation {
  const { balanced, high_security } = published;
  const kept = { threshold: balanced, level: 'balanced', basis: 'published' } as const;
  const keep = (reason: string): Recommendation => ({ ...kept, reason });
  if (t3.threshold !== null && t3.far !== null && t3.frr !== null) {
    if (bal.far > 2 * 1e-3) {
      const reason =
        `On this gallery the published balanced threshold ${balanced} accepts impostors at FAR ${pct(bal.far)}, ` +
        `above its 0.1 % target; ${t3.threshold} keeps FAR at ${pct(t3.far)} with FRR ${pct(t3.frr)}. ` +
        'Impostors this close often mean one person enrolled under two user_ids, or look-alike relatives.';
      return { threshold: t3.threshold, level: 'custom', basis: 'far_target', reason };
    }
    const room =
      t3.threshold > balanced + 0.02
        ? ` This gallery would allow up to ${t3.threshold} at FAR 0.1 % (FRR ${pct(t3.frr)}); raise it only if ` +
          'false rejections are a problem: the published value rests on 2.4 M LFW impostor pairs.'
        : '';
    return keep(
      `The published balanced threshold ${balanced} holds on this gallery: FAR ${pct(bal.far)} ` +
        `(target 0.1 %), FRR ${pct(bal.frr)}.${room}`,
    );
  }
  const n = r.counts.impostor_pairs;
  const close =
    r.eer && r.eer.threshold < balanced
      ? ` The equal-error threshold here (${r.eer.threshold}) is below it, so impostors are unusually close: ` +
        `check for people enrolled twice under different user_ids, or use high_security (${high_security}).`
      : '';
  return keep(
    `Keep the published balanced threshold ${balanced}: ${n} impostor pairs are too few to set a threshold for ` +
      `FAR 0.1 % (that needs ${MIN_ACCEPTED / 1e-3}). On this gallery it rejects ${pct(bal.frr)} of genuine ` +
      `pairs and accepts ${Math.round(bal.far * n)} of ${n} impostor pairs.${close}`,
  );
}

const NONE = { eer: null, recommendation: null, curves: null, histogram: null };

function build(entries: CalibrationEntry[], o: Options, d: Distances): CalibrationReport {
  const perUser = new Map<string, number>();
  for (const e of entries) perUser.set(e.user_id, (perUser.get(e.user_id) ?? 0) + 1);
  const missing: string[] = [];
  if (perUser.size < 2) missing.push(`at least 2 enrolled users (found ${perUser.size})`);
  if (d.genuine.length === 0)
    missing.push('genuine pairs: at least one user with 2 or more templates (found none)');
  const ok = missing.length === 0;
  const base = {
    message: ok
      ? `${d.genuine.length} genuine and ${d.impostor.length} impostor pairs`
      : `Not enough data to calibrate: needs ${missing.join('; and ')}.`,
    missing,
    group: o.group ?? null,
    model: o.model ?? null,
    metric: 'cosine' as const,
    decision_rule: 'match when distance <= threshold' as const,
    counts: {
      users: perUser.size,
      users_with_2plus_templates: [...perUser.values()].filter((c) => c >= 2).length,
      templates: entries.length,
      genuine_pairs: d.genuine.length,
      impostor_pairs: d.impostor.length,
    },
    impostor_sampling: {
      method: d.sampled ? ('sample' as const) : ('all' as const),
      pairs: d.impostor.length,
      total_pairs: d.totalImpostor,
      max_pairs: o.maxImpostorPairs,
      seed: d.sampled ? o.seed : null,
    },
    distances: { genuine: summary(d.genuine), impostor: summary(d.impostor) },
  };
  if (!ok) return { status: 'insufficient_data', ...base, ...NONE, far_targets: [], published: [] };
  const eer = equalErrorRate(d.genuine, d.impostor);
  const levels: ThresholdLevel[] = ['high_security', 'balanced', 'convenience'];
  const rates = (t: number) => ratesAt(d.genuine, d.impostor, t);
  const published = levels.map((level) => ({ level, ...rates(o.thresholds[level]) }));
  const grid = Array.from({ length: Math.round(o.maxDistance / o.step) + 1 }, (_, k) => round(k * o.step, 6));
  const points = grid.map(rates);
  const report: CalibrationReport = {
    status: 'ok',
    ...base,
    eer: { eer: p4(eer.eer), threshold: r4(eer.threshold) },
    far_targets: TARGET_FARS.map((f) => thresholdAtFar(d.genuine, d.impostor, f)),
    published,
    recommendation: null,
    curves: { threshold: grid, far: points.map((p) => p.far), frr: points.map((p) => p.frr) },
    histogram: histograms(d, o),
  };
  const bal = published.find((p) => p.level === 'balanced') as RatePoint;
  report.recommendation = recommend(report, thresholdAtFar(d.genuine, d.impostor, 1e-3), bal, o.thresholds);
  return report;
}

type Options = typeof DEFAULTS & CalibrationOptions;
const withDefaults = (options: CalibrationOptions): Options => ({
  ...DEFAULTS,
  ...(Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as CalibrationOptions),
});

/** Calibrates synchronously (tests, small galleries). */
export function calibrate(entries: CalibrationEntry[], options: CalibrationOptions): CalibrationReport {
  const o = withDefaults(options);
  const gen = pairDistances(entries, o);
  for (;;) {
    const step = gen.next();
    if (step.done) return build(entries, o, step.value);
  }
}

/** Same result as `calibrate`, yielding to the event loop between chunks (the API's path). */
export async function calibrateAsync(entries: CalibrationEntry[], options: CalibrationOptions) {
  const o = withDefaults(options);
  const gen = pairDistances(entries, o);
  let step = gen.next();
  while (!step.done) {
    await new Promise((resolve) => setImmediate(resolve));
    step = gen.next();
  }
  return build(entries, o, step.value);
}
