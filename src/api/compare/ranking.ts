import { distance, type DistanceMetric, type Vector } from '../../shared/face-math.js';

export interface Candidate<Id> {
  id: Id;
  embedding: Vector;
}

export interface Ranked<Id> {
  id: Id;
  distance: number;
  similarity: number;
}

/**
 * Ranks candidates by distance to the query (nearest first) and keeps the best `topK`.
 * `similarity` is 1 - distance for cosine (as the guide computes it) and 1 / (1 + d) for the
 * euclidean metrics, so it is always "higher is more alike".
 */
export function rank<Id>(
  query: Vector,
  candidates: Candidate<Id>[],
  metric: DistanceMetric,
  topK: number,
): Ranked<Id>[] {
  const scored = candidates.map((c) => {
    const d = distance(metric, query, c.embedding);
    return { id: c.id, distance: d, similarity: metric === 'cosine' ? 1 - d : 1 / (1 + d) };
  });
  scored.sort((a, b) => a.distance - b.distance);
  return scored.slice(0, topK);
}
