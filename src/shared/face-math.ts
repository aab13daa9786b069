/**
 * Embedding arithmetic shared by the API (/compare) and the worker. Semantics follow the
 * integration guide: cosine distance = 1 - cosine similarity, exactly as
 * `scipy.spatial.distance.cosine`; `euclidean_l2` is the euclidean distance between the
 * L2-normalised vectors.
 */
export type Vector = ArrayLike<number>;

export const DISTANCE_METRICS = ['cosine', 'euclidean', 'euclidean_l2'] as const;
export type DistanceMetric = (typeof DISTANCE_METRICS)[number];

export function dot(a: Vector, b: Vector): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

/** Largest |x|: vectors are scaled by it so 1e200 does not overflow and 1e-200 does not underflow. */
function maxAbs(a: Vector): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] as number));
  return m;
}

/** Euclidean norm, computed on the scaled vector (as `Math.hypot` does) so it stays finite. */
export function norm(a: Vector): number {
  const s = maxAbs(a);
  if (s === 0) return 0;
  const inv = 1 / s;
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const x = (a[i] as number) * inv;
    sum += x * x;
  }
  return s * Math.sqrt(sum);
}

export function l2Normalize(a: Vector): Float32Array {
  const n = norm(a);
  const out = new Float32Array(a.length);
  if (n === 0) return out;
  for (let i = 0; i < a.length; i++) out[i] = (a[i] as number) / n;
  return out;
}

/**
 * Cosine similarity in [-1, 1]. Both vectors are scaled by their largest element first: the
 * plain `dot / (|a| |b|)` returned NaN (JSON null) for [1e200, 1e200] and, from rounding,
 * slightly above 1 (a negative distance) for tiny values; the result is clamped for the latter.
 */
export function cosineSimilarity(a: Vector, b: Vector): number {
  const sa = maxAbs(a);
  const sb = maxAbs(b);
  if (sa === 0 || sb === 0) return 0;
  const ia = 1 / sa;
  const ib = 1 / sb;
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = (a[i] as number) * ia;
    const y = (b[i] as number) * ib;
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  return Math.min(1, Math.max(-1, ab / Math.sqrt(aa * bb)));
}

export function cosineDistance(a: Vector, b: Vector): number {
  return 1 - cosineSimilarity(a, b);
}

export function euclidean(a: Vector, b: Vector): number {
  const s = Math.max(maxAbs(a), maxAbs(b));
  if (s === 0) return 0;
  const inv = 1 / s;
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] as number) * inv - (b[i] as number) * inv;
    sum += d * d;
  }
  return Math.min(Number.MAX_VALUE, s * Math.sqrt(sum));
}

export function euclideanL2(a: Vector, b: Vector): number {
  // For unit vectors |a-b|^2 = 2 - 2cos; computing it this way avoids two normalised copies.
  return Math.sqrt(Math.max(0, 2 - 2 * cosineSimilarity(a, b)));
}

export function distance(metric: DistanceMetric, a: Vector, b: Vector): number {
  switch (metric) {
    case 'cosine':
      return cosineDistance(a, b);
    case 'euclidean':
      return euclidean(a, b);
    case 'euclidean_l2':
      return euclideanL2(a, b);
  }
}
