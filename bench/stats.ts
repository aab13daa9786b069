import { availableParallelism, cpus } from 'node:os';

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

/** A command-line number that must be a positive integer; the error names the flag. */
export function positiveInt(name: string, raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${raw}`);
  return n;
}

/** What every JSON report says about the machine it ran on (figures are only as quiet as it was). */
export function machine(loadStart: number[], loadEnd: number[]) {
  return {
    node: process.version,
    cpu_count: availableParallelism(),
    cpu_model: cpus()[0]?.model ?? 'unknown',
    loadavg_start: loadStart.map(r2),
    loadavg_end: loadEnd.map(r2),
  };
}
