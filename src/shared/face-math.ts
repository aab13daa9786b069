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

export function norm(a: Vector): number {
  return Math.sqrt(dot(a, a));
}

export function l2Normalize(a: Vector): Float32Array {
  const n = norm(a);
  const out = new Float32Array(a.length);
  if (n === 0) return out;
  for (let i = 0; i < a.length; i++) out[i] = (a[i] as number) / n;
  return out;
}

export function cosineSimilarity(a: Vector, b: Vector): number {
  const denom = norm(a) * norm(b);
  return denom === 0 ? 0 : dot(a, b) / denom;
}

export function cosineDistance(a: Vector, b: Vector): number {
  return 1 - cosineSimilarity(a, b);
}

export function euclidean(a: Vector, b: Vector): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] as number) - (b[i] as number);
    s += d * d;
  }
  return Math.sqrt(s);
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
