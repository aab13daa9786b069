/**
 * Per-comparison decision thresholds of the active model pack: the cosine-distance levels come
 * from its manifest (`thresholds.cosine`, measured on LFW for fr_feature: `npm run
 * bench:accuracy`, all 2.4 M impostor pairs of lfw-dev; MODEL-NOTES.md agrees on the full LFW).
 * A match is `distance <= threshold`. The integration guide's generic cosine-distance 0.4 would
 * reject most genuine users with this model.
 *
 * - high_security: FAR 1e-4 (TAR ~97 %)
 * - balanced:      FAR 1e-3 (TAR ~98.5 %) — the default of /compare
 * - convenience:   the equal-error point (FAR = FRR ~0.9 %)
 */
export interface ThresholdLevels {
  high_security: number;
  balanced: number;
  convenience: number;
}

export type ThresholdLevel = keyof ThresholdLevels;

export interface ThresholdTable {
  cosine: ThresholdLevels;
  euclidean_l2: ThresholdLevels;
  euclidean: ThresholdLevels;
}

/** For unit vectors euclidean distance = sqrt(2 * cosine distance); embeddings are unit vectors. */
const toL2 = (d: number) => Math.round(Math.sqrt(2 * d) * 1000) / 1000;

/** Every metric's levels from the pack's cosine ones. */
export function thresholdTable(cosine: ThresholdLevels): ThresholdTable {
  const { high_security, balanced, convenience } = cosine;
  const l2 = { high_security: toL2(high_security), balanced: toL2(balanced), convenience: toL2(convenience) };
  return { cosine: { high_security, balanced, convenience }, euclidean_l2: l2, euclidean: { ...l2 } };
}
