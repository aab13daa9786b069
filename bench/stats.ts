/** Small numeric helpers the benchmarks share. */

/** Linear-interpolated quantile of an ascending copy. */
export function quantile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const a = s[lo] ?? 0;
  const b = s[Math.min(lo + 1, s.length - 1)] ?? a;
  return a + (b - a) * (pos - lo);
}

/** Two decimals, for printing figures. */
export const r2 = (v: number) => Math.round(v * 100) / 100;
