/**
 * int8 copy of unit-length embeddings for the brute-force scan. Components of a normalised
 * 512-d face embedding stay well inside ±0.35, so one global scale keeps ~7 bits of precision
 * where values actually are (a per-vector scale would distort inner products). Values beyond
 * are clamped; the exact re-rank of the best candidates makes the final order exact anyway.
 */
export const INT8_SCALE = 127 / 0.35;

export function quantize(v: ArrayLike<number>, out: Int8Array, offset = 0): void {
  for (let i = 0; i < v.length; i++) {
    const q = Math.round((v[i] as number) * INT8_SCALE);
    out[offset + i] = q > 127 ? 127 : q < -127 ? -127 : q;
  }
}
