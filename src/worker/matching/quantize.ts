/**
 * int8 copy of unit-length embeddings for the brute-force scan. One global scale, 127 / the
 * pack's `quantisation.int8_range` (manifest): components of a normalised 512-d fr_feature
 * embedding stay well inside ±0.35, so that keeps ~7 bits of precision where values actually
 * are (a per-vector scale would distort inner products). Values beyond are clamped; the exact
 * re-rank of the best candidates makes the final order exact anyway.
 */
export const int8Scale = (range: number) => 127 / range;

/**
 * The shipped pack's range (models/manifest.json), for the index built without a pack (its own
 * tests and benchmarks); the worker passes its manifest's.
 */
export const DEFAULT_INT8_RANGE = 0.35;

export function quantize(v: ArrayLike<number>, out: Int8Array, offset: number, scale: number): void {
  for (let i = 0; i < v.length; i++) {
    const q = Math.round((v[i] as number) * scale);
    out[offset + i] = q > 127 ? 127 : q < -127 ? -127 : q;
  }
}

/** Bytes of the sign code of a `dim`-dimensional embedding (one bit per component). */
export const codeBytes = (dim: number) => Math.ceil(dim / 64) * 8;

/**
 * Sign code: bit i set when component i is positive. The Hamming distance between two codes
 * estimates the angle between the embeddings (expected distance = dim * angle / pi), so it ranks
 * a gallery well enough to shortlist it in 64 bytes per 512-d template, 8x less than int8.
 */
export function signCode(v: ArrayLike<number>, out: Uint8Array, offset = 0): void {
  const bytes = codeBytes(v.length);
  out.fill(0, offset, offset + bytes);
  for (let i = 0; i < v.length; i++) {
    if ((v[i] as number) > 0) out[offset + (i >> 3)] = (out[offset + (i >> 3)] as number) | (1 << (i & 7));
  }
}
