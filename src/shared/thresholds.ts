/**
 * Recommended decision thresholds for fr_feature@faceplugin-0.0.1, measured on LFW
 * (`npm run bench:accuracy`, all 2.4 M impostor pairs of lfw-dev; MODEL-NOTES.md agrees on the
 * full LFW). The integration guide's generic cosine-distance 0.4 would reject most genuine
 * users with this model: a match is `distance <= threshold`.
 *
 * - high_security: FAR 1e-4 (TAR ~97 %)
 * - balanced:      FAR 1e-3 (TAR ~98.5 %) — the default of /compare
 * - convenience:   the equal-error point (FAR = FRR ~0.9 %)
 */
const COSINE = { high_security: 0.59, balanced: 0.665, convenience: 0.75 } as const;

/** For unit vectors euclidean distance = sqrt(2 * cosine distance); embeddings are unit vectors. */
const toL2 = (d: number) => Math.round(Math.sqrt(2 * d) * 1000) / 1000;

export type ThresholdLevel = keyof typeof COSINE;

export const THRESHOLDS = {
  cosine: COSINE,
  euclidean_l2: {
    high_security: toL2(COSINE.high_security),
    balanced: toL2(COSINE.balanced),
    convenience: toL2(COSINE.convenience),
  },
  euclidean: {
    high_security: toL2(COSINE.high_security),
    balanced: toL2(COSINE.balanced),
    convenience: toL2(COSINE.convenience),
  },
} as const;
