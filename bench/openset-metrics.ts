/**
 * Open-set 1:N arithmetic (NIST FRTE terms), pure: no I/O, no service. `bench/openset.ts` feeds
 * it the candidate lists the API returned; test/bench/openset-metrics.test.ts checks it on
 * hand-made numbers.
 *
 * A decision score maps a probe's candidate list to one number, lower = "more like a match";
 * a search is a match when score <= t, and the identity it names is the top-1 candidate.
 * - FPIR(t): share of non-mated probes with score <= t (any top-1 is a false positive).
 * - FNIR(t): share of mated probes whose top-1 is not their mate, or whose score is > t (a wrong
 *   top-1 under t is a miss, not a hit). A probe with no face has score +Infinity: a miss when
 *   mated, a correct rejection when not.
 */
import { mulberry32 } from '../src/shared/prng.js';

export interface Candidate {
  /** Gallery identity (user_id); the API's list holds each identity once, its best template. */
  id: string;
  /** Cosine distance. */
  distance: number;
}

export interface Search {
  /** The enrolled id of the probe's own identity; null = non-mated (the person is not enrolled). */
  mate: string | null;
  /** Nearest first. Empty when no face was found (or the gallery is empty). */
  candidates: Candidate[];
}

/** A search reduced to what the rates need. */
export interface Scored {
  mated: boolean;
  /** Mated and the top-1 candidate is the mate (regardless of any threshold). */
  hit: boolean;
  score: number;
}

export type DecisionScore = (candidates: Candidate[]) => number;

const d = (c: Candidate[], i: number) => c[i]?.distance ?? Number.NaN;

/** Mean and population standard deviation of the distances from index 1 on (d2..dk). */
function cohort(c: Candidate[]): { mean: number; std: number } {
  const rest = c.slice(1).map((x) => x.distance);
  const mean = rest.reduce((s, v) => s + v, 0) / rest.length;
  const std = Math.sqrt(rest.reduce((s, v) => s + (v - mean) ** 2, 0) / rest.length);
  return { mean, std };
}

/**
 * Cohort statistics need a few neighbours; with fewer than this many d2..dk the cohort scores say
 * "no match" (+Infinity) rather than divide by a std of one or two values.
 */
export const MIN_COHORT = 3;

/** +Infinity for "no decision possible" (no candidate, too few neighbours, a zero std). */
const orNoMatch = (v: number) => (Number.isFinite(v) ? v : Number.POSITIVE_INFINITY);

/** The top-1 distance, the service's own rule. */
export const top1: DecisionScore = (c) => (c.length ? d(c, 0) : Number.POSITIVE_INFINITY);

/** -(d2 - d1): a large gap to the second-best person means a confident match. */
export const margin: DecisionScore = (c) => orNoMatch(d(c, 0) - d(c, 1));

/** d1 - alpha * (d2 - d1): the distance, credited for a clear gap to the runner-up. */
export const combined =
  (alpha: number): DecisionScore =>
  (c) =>
    orNoMatch(d(c, 0) - alpha * (d(c, 1) - d(c, 0)));

/** -z with z = (mean(d2..dk) - d1) / std(d2..dk): how far the best stands out of the probe's own cohort. */
export const cohortZ: DecisionScore = (c) => {
  if (c.length - 1 < MIN_COHORT) return Number.POSITIVE_INFINITY;
  const { mean, std } = cohort(c);
  return std > 0 ? orNoMatch(-(mean - d(c, 0)) / std) : Number.POSITIVE_INFINITY;
};

/** d1 - mean(d2..dk): the distance relative to how close this probe's other neighbours are. */
export const cohortMean: DecisionScore = (c) =>
  c.length - 1 < MIN_COHORT ? Number.POSITIVE_INFINITY : orNoMatch(d(c, 0) - cohort(c).mean);

export function scoreSearches(searches: Search[], score: DecisionScore): Scored[] {
  return searches.map((s) => ({
    mated: s.mate !== null,
    hit: s.mate !== null && s.candidates[0]?.id === s.mate,
    score: score(s.candidates),
  }));
}

/** Share of mated searches whose mate is among the first `rank` candidates (CMC at that rank). */
export function rankRate(searches: Search[], rank: number): number {
  const mated = searches.filter((s) => s.mate !== null);
  const found = mated.filter((s) => s.candidates.slice(0, rank).some((c) => c.id === s.mate));
  return found.length / mated.length;
}

export interface Rates {
  threshold: number;
  fpir: number;
  fnir: number;
  mated: number;
  nonMated: number;
  falsePositives: number;
}

export function ratesAt(scored: Scored[], t: number): Rates {
  let mated = 0;
  let nonMated = 0;
  let hitsUnder = 0;
  let falsePositives = 0;
  for (const s of scored) {
    if (s.mated) {
      mated++;
      if (s.hit && s.score <= t) hitsUnder++;
    } else {
      nonMated++;
      if (s.score <= t) falsePositives++;
    }
  }
  return {
    threshold: t,
    fpir: falsePositives / nonMated,
    fnir: (mated - hitsUnder) / mated,
    mated,
    nonMated,
    falsePositives,
  };
}

export interface AtFpir extends Rates {
  target: number;
  /** False positives the target allows: floor(target x non-mated). */
  allowed: number;
  /** target x non-mated >= 1: otherwise the only reachable FPIR at or under it is 0. */
  resolved: boolean;
}

/**
 * FNIR at the loosest threshold whose FPIR is <= target. With m = floor(target x N_nm)
 * allowed false positives the threshold must stay below u, the (m+1)-th smallest non-mated
 * score; it is reported as the midpoint between u and the largest score (of any probe) below u.
 */
export function fnirAtFpir(scored: Scored[], target: number): AtFpir {
  const nm = scored
    .filter((s) => !s.mated)
    .map((s) => s.score)
    .sort((a, b) => a - b);
  const allowed = Math.floor(target * nm.length + 1e-9);
  const u = nm[allowed] ?? Number.POSITIVE_INFINITY;
  let prev = Number.NEGATIVE_INFINITY;
  for (const s of scored) if (s.score < u && s.score > prev) prev = s.score;
  let t: number;
  if (u === Number.POSITIVE_INFINITY) t = prev === Number.NEGATIVE_INFINITY ? u : prev;
  else if (prev === Number.NEGATIVE_INFINITY) t = u - 1e-6;
  else t = (prev + u) / 2;
  return { ...ratesAt(scored, t), target, allowed, resolved: target * nm.length >= 1 };
}

export interface DetPoint {
  threshold: number;
  fpir: number;
  fnir: number;
}

/** (FPIR, FNIR) at every distinct finite score, loosest last: the DET curve. */
export function detCurve(scored: Scored[]): DetPoint[] {
  const thresholds = [...new Set(scored.map((s) => s.score).filter(Number.isFinite))].sort((a, b) => a - b);
  const nm = scored.filter((s) => !s.mated).length;
  const mated = scored.filter((s) => s.mated).length;
  const sorted = [...scored].sort((a, b) => a.score - b.score);
  const points: DetPoint[] = [];
  let i = 0;
  let fp = 0;
  let hits = 0;
  for (const t of thresholds) {
    for (; i < sorted.length && (sorted[i] as Scored).score <= t; i++) {
      const s = sorted[i] as Scored;
      if (!s.mated) fp++;
      else if (s.hit) hits++;
    }
    points.push({ threshold: t, fpir: fp / nm, fnir: (mated - hits) / mated });
  }
  return points;
}

/**
 * The same searches against a smaller gallery: candidates not kept are dropped, and a mated probe
 * whose mate is dropped becomes non-mated. Exact for the top-1 as long as one of the listed
 * candidates survives (every gallery member not listed is farther than all listed ones); a probe
 * whose whole list is dropped has no candidate left within the list and counts as no match.
 */
export function restrictGallery(search: Search, keep: ReadonlySet<string>): Search {
  return {
    mate: search.mate !== null && keep.has(search.mate) ? search.mate : null,
    candidates: search.candidates.filter((c) => keep.has(c.id)),
  };
}

/** Two candidate lists of disjoint galleries merged, nearest first, cut to k. */
export function mergeCandidates(a: Candidate[], b: Candidate[], k: number): Candidate[] {
  return [...a, ...b].sort((x, y) => x.distance - y.distance).slice(0, k);
}

/** A seeded uniform sample of `n` of `ids` (Fisher-Yates on a copy). */
export function sample<T>(ids: readonly T[], n: number, seed: number): T[] {
  const rand = mulberry32(seed);
  const a = [...ids];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j] as T, a[i] as T];
  }
  return a.slice(0, n);
}

export interface SizePoint {
  gallery: number;
  repeats: number;
  /** Averages over the repeats (each repeat has its own mated / non-mated counts). */
  mated: number;
  nonMated: number;
  rank1: number;
  /** Per threshold, in the order given. */
  fpir: number[];
  fnir: number[];
}

/**
 * Top-1-distance rates against random sub-galleries of `size` members (averaged over `repeats`
 * seeded draws; one draw when size is the whole gallery).
 */
export function sizeCurve(
  searches: Search[],
  galleryIds: readonly string[],
  sizes: number[],
  thresholds: number[],
  repeats: number,
  seed: number,
): SizePoint[] {
  return sizes.map((size) => {
    const n = Math.min(size, galleryIds.length);
    const draws = n === galleryIds.length ? 1 : repeats;
    const acc = {
      mated: 0,
      nonMated: 0,
      rank1: 0,
      fpir: thresholds.map(() => 0),
      fnir: thresholds.map(() => 0),
    };
    for (let r = 0; r < draws; r++) {
      const keep = new Set(sample(galleryIds, n, seed + 7919 * r + n));
      const sub = searches.map((s) => restrictGallery(s, keep));
      const scored = scoreSearches(sub, top1);
      acc.rank1 += rankRate(sub, 1);
      thresholds.forEach((t, i) => {
        const rates = ratesAt(scored, t);
        acc.fpir[i] = (acc.fpir[i] as number) + rates.fpir;
        acc.fnir[i] = (acc.fnir[i] as number) + rates.fnir;
        if (i === 0) {
          acc.mated += rates.mated;
          acc.nonMated += rates.nonMated;
        }
      });
    }
    return {
      gallery: n,
      repeats: draws,
      mated: acc.mated / draws,
      nonMated: acc.nonMated / draws,
      rank1: acc.rank1 / draws,
      fpir: acc.fpir.map((v) => v / draws),
      fnir: acc.fnir.map((v) => v / draws),
    };
  });
}
