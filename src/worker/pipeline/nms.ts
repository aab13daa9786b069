/** Boxes in image pixels, corner form. */
export interface ScoredBox {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  score: number;
}

export function iou(a: ScoredBox, b: ScoredBox): number {
  const w = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
  const h = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  const union = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter;
  return union <= 0 ? 0 : inter / union;
}

/** Standard greedy (hard) NMS: keep the best box, drop those overlapping it above `threshold`. */
export function nms(boxes: ScoredBox[], threshold: number, topK = Infinity): ScoredBox[] {
  const sorted = [...boxes].sort((a, b) => b.score - a.score).slice(0, topK);
  const kept: ScoredBox[] = [];
  for (const box of sorted) {
    if (kept.every((k) => iou(k, box) <= threshold)) kept.push(box);
  }
  return kept;
}

/**
 * Drops boxes lying mostly (> `share` of their area) inside a higher-scoring, larger box: the
 * detector sometimes fires on a part of a face (the eyes, the lower half) as well as on the whole
 * face. 0.65 because a lower-half box was seen 78 % inside its face; a separate face never is.
 */
export function dropContained(boxes: ScoredBox[], share = 0.65): ScoredBox[] {
  const sorted = [...boxes].sort((a, b) => b.score - a.score);
  return sorted.filter((box, i) =>
    sorted.slice(0, i).every((big) => {
      const w = Math.min(big.x2, box.x2) - Math.max(big.x1, box.x1);
      const h = Math.min(big.y2, box.y2) - Math.max(big.y1, box.y1);
      const area = (box.x2 - box.x1) * (box.y2 - box.y1);
      return (
        w <= 0 ||
        h <= 0 ||
        area <= 0 ||
        (w * h) / area <= share ||
        area > (big.x2 - big.x1) * (big.y2 - big.y1)
      );
    }),
  );
}
