/** LFW pairs-file parsing and the 10-fold verification protocol, shared by the benchmarks. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Pair {
  a: string;
  b: string;
  same: boolean;
  fold: number;
}

const photoPath = (name: string, n: string) => join(name, `${name}_${n.padStart(4, '0')}.jpg`);

/** Standard LFW `pairs.txt`: header `folds<TAB>n`, then per fold n same-person and n different-person lines. */
export function readPairs(file: string): Pair[] {
  const lines = readFileSync(file, 'utf8').trim().split(/\r?\n/);
  const [folds, perFold] = (lines.shift() ?? '').split(/\s+/).map(Number);
  if (!folds || !perFold) throw new Error(`${file}: first line must be "<folds>\\t<pairs per fold>"`);
  return lines.map((line, i): Pair => {
    const f = line.split(/\t|\s+/);
    const fold = Math.floor(i / (2 * perFold));
    if (f.length === 3) return { a: photoPath(f[0]!, f[1]!), b: photoPath(f[0]!, f[2]!), same: true, fold };
    if (f.length === 4) return { a: photoPath(f[0]!, f[1]!), b: photoPath(f[2]!, f[3]!), same: false, fold };
    throw new Error(`${file}:${i + 2}: not a pairs line`);
  });
}

/** Accuracy of "similarity >= t means same" on the given scored pairs. */
function accuracy(scored: { sim: number; same: boolean }[], t: number): number {
  let ok = 0;
  for (const p of scored) if (p.sim >= t === p.same) ok++;
  return ok / scored.length;
}

/** The threshold (midpoint between neighbouring scores) that maximises accuracy. */
export function bestThreshold(scored: { sim: number; same: boolean }[]): number {
  const sims = [...new Set(scored.map((p) => p.sim))].sort((x, y) => x - y);
  let best = { t: 0, acc: -1 };
  for (let i = 0; i <= sims.length; i++) {
    const lo = sims[i - 1] ?? -1;
    const hi = sims[i] ?? 1;
    const t = (lo + hi) / 2;
    const acc = accuracy(scored, t);
    if (acc > best.acc) best = { t, acc };
  }
  return best.t;
}

export interface FoldResult {
  mean: number;
  std: number;
  thresholds: number[];
}

/** Per fold: choose the threshold on the other folds, measure accuracy on this one. */
export function tenFold(scored: { sim: number; same: boolean; fold: number }[]): FoldResult {
  const folds = [...new Set(scored.map((p) => p.fold))].sort((x, y) => x - y);
  const accs: number[] = [];
  const thresholds: number[] = [];
  for (const f of folds) {
    const t = bestThreshold(scored.filter((p) => p.fold !== f));
    thresholds.push(t);
    accs.push(
      accuracy(
        scored.filter((p) => p.fold === f),
        t,
      ),
    );
  }
  const mean = accs.reduce((s, a) => s + a, 0) / accs.length;
  const std = Math.sqrt(accs.reduce((s, a) => s + (a - mean) ** 2, 0) / accs.length);
  return { mean, std, thresholds };
}
