/**
 * Synthetic gallery distractors for `--gallery-distractors N`, evaluated offline.
 *
 * Random unit vectors would be far too easy in 512-d (cosine ~0 +- 0.044 to everything, while
 * real impostors reach 0.4). A synthetic template is instead normalise(a + b) for two real
 * embeddings of two different people: it sits between them, inside the region real faces
 * occupy, and behaves like a new, look-alike identity. The sources are the embeddings of the
 * enrolled single-photo distractors only: those people are in the gallery but never probed,
 * so no probe (mated or not) gets a synthetic built from its own face. Pairs are distinct.
 *
 * The API has no way to enroll an embedding (only photos), so these never reach the service:
 * each probe's embedding comes from POST /api/v1/embed and its distances to the synthetic
 * templates are merged into the candidate list the API returned for the real gallery.
 */
import { dot, l2Normalize } from '../src/shared/face-math.js';
import { mulberry32 } from '../src/shared/prng.js';
import type { Candidate } from './openset-metrics.js';

/** n distinct pairs of distinct sources, each mixed 50/50 and renormalised. */
export function mixtures(sources: Float32Array[], n: number, seed: number): Float32Array[] {
  const pairs = (sources.length * (sources.length - 1)) / 2;
  if (n > pairs) throw new Error(`${n} synthetic distractors need more than ${sources.length} sources`);
  const rand = mulberry32(seed);
  const seen = new Set<number>();
  const out: Float32Array[] = [];
  while (out.length < n) {
    const i = Math.floor(rand() * sources.length);
    const j = Math.floor(rand() * sources.length);
    if (i === j) continue;
    const key = Math.min(i, j) * sources.length + Math.max(i, j);
    if (seen.has(key)) continue;
    seen.add(key);
    const a = sources[i] as Float32Array;
    const b = sources[j] as Float32Array;
    out.push(l2Normalize(Array.from(a, (v, k) => v + (b[k] as number))));
  }
  return out;
}

/** Cosine distance from a probe to every synthetic template, in template order. */
export function syntheticDistances(probe: Float32Array, templates: Float32Array[]): Float64Array {
  return Float64Array.from(templates, (t) => 1 - dot(probe, t));
}

/** The k nearest of the first `n` synthetic templates, as candidates `syn-<index>`. */
export function nearestSynthetic(distances: Float64Array, n: number, k: number): Candidate[] {
  const out: Candidate[] = [];
  for (let i = 0; i < Math.min(n, distances.length); i++) {
    const distance = distances[i] as number;
    if (out.length === k && distance >= (out[k - 1] as Candidate).distance) continue;
    let j = out.length === k ? k - 1 : out.length;
    // Insertion into a short sorted list: k is ~50, n is thousands.
    while (j > 0 && (out[j - 1] as Candidate).distance > distance) {
      out[j] = out[j - 1] as Candidate;
      j--;
    }
    out[j] = { id: `syn-${i}`, distance };
  }
  return out;
}
