import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * The prefilter's two kernels. The compiled one (native/codes.c, built by `npm run build` into
 * codes.node beside this file) scans 1M two-plane codes in 3.1 ms on one core of a 2-vCPU
 * AVX-512 Xeon (bench/identify-stages.ts; 5.4 ms on a Zen 3 EPYC with AVX2 only, before the block
 * scan); the JavaScript fallback below gives the same answers ~15x slower, for a machine where
 * the addon could not be compiled.
 */
export interface CodeKernels {
  /** The k rows nearest to `query` by Hamming distance, nearest first: [rows..., distances...]. */
  hammingTopK(codes: Uint8Array, rows: number, query: Uint8Array, k: number): Uint32Array;
  /**
   * The same for codes stored as two planes (each row's first bytes in `head`, the rest in
   * `tail`): the k1 rows nearest by the head alone, then the k of those nearest by the whole
   * code. Ties at both cuts go to the lower rows, so k1 = rows gives hammingTopK's answer over
   * the concatenated codes. `threads` (native only; default 1) splits the scan of a long
   * segment over that many threads (at least 262,144 rows each), with the same answer.
   */
  hammingTopK2(
    head: Uint8Array,
    tail: Uint8Array,
    rows: number,
    qHead: Uint8Array,
    qTail: Uint8Array,
    k1: number,
    k: number,
    threads?: number,
  ): Uint32Array;
  /** int8 inner products of `query` with the given rows of `data` (dim values each). */
  dotI8(data: Int8Array, dim: number, rows: Uint32Array, query: Int8Array): Int32Array;
  /** Asymmetric scores of the given rows' codes: sum of table[byte * 256 + code byte] (codeTable). */
  codeDots(codes: Uint8Array, bytes: number, rows: Uint32Array, table: Int32Array): Int32Array;
  /**
   * The n of `rows` with the highest codeDots score over both planes (`table`: the head's
   * headBytes * 256 entries, then the tail's), in their given order; ties at the n-th score go
   * to the first ones. What the int8 re-rank reads, picked in one native call.
   */
  codeTopN(
    head: Uint8Array,
    headBytes: number,
    tail: Uint8Array,
    tailBytes: number,
    rows: Uint32Array,
    table: Int32Array,
    n: number,
    /** Threads scoring the rows (native only; same answer). Default 1. */
    threads?: number,
  ): Uint32Array;
  /**
   * codeTopN over hammingTopK2's k nearest of every row (k1 = rows): the n of them with the
   * highest code score (`table`: codeTable over both planes), in hammingTopK2's order, first
   * ones at a tie. The native scan scores each row as it takes it, its codes just read, instead
   * of reading the k scattered rows again (1M, one core: see README, 1:N identification).
   */
  shortlistByCode(
    head: Uint8Array,
    tail: Uint8Array,
    rows: number,
    qHead: Uint8Array,
    qTail: Uint8Array,
    k: number,
    table: Int32Array,
    n: number,
    threads?: number,
  ): Uint32Array;
  /**
   * Asks for 2 MB pages under the array (madvise; before it is written, so its pages fault in
   * huge): the scattered row reads of the second Hamming stage and the re-rank otherwise miss
   * the TLB too. Whether it applied; the JavaScript kernels cannot (false).
   */
  adviseHugePages(array: Uint8Array | Int8Array): boolean;
}

const addonPath = fileURLToPath(new URL('./codes.node', import.meta.url));

/** Counters of the native hammingTopK2 since load (benchmarks print them per query). */
export interface ScanStats {
  /** Runs of rows scanned (per call: one per thread, four per thread for a first-plane scan). */
  runs: number;
  /** Runs scanned twice: the cut guessed from the sampled blocks left too few rows within it. */
  rescans: number;
  /** Rows the runs' collections took (the rest were beyond the cut). */
  taken: number;
}

/** The compiled kernels, which also say which distance loop this CPU runs. */
interface NativeKernels extends CodeKernels {
  simd(): 'avx512' | 'avx2' | 'popcnt' | 'generic';
  scanStats(): ScanStats;
}

function loadNative(): NativeKernels | undefined {
  if (process.env.SHELIA_NO_NATIVE === '1' || !existsSync(addonPath)) return undefined;
  return createRequire(import.meta.url)(addonPath) as NativeKernels;
}

function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

const jsKernels: CodeKernels = {
  hammingTopK(codes, rows, query, k) {
    const words = query.byteLength / 4;
    const c = new Uint32Array(codes.buffer, codes.byteOffset, rows * words);
    const q = new Uint32Array(query.buffer, query.byteOffset, words);
    const dist = new Uint16Array(rows);
    const hist = new Uint32Array(words * 32 + 1);
    for (let r = 0; r < rows; r++) {
      let d = 0;
      for (let w = 0, o = r * words; w < words; w++)
        d += popcount32(((c[o + w] as number) ^ (q[w] as number)) >>> 0);
      dist[r] = d;
      hist[d] = (hist[d] as number) + 1;
    }
    k = Math.min(k, rows);
    let taken = 0;
    let limit = 0;
    for (; limit < hist.length && taken < k; limit++) {
      const h = hist[limit] as number;
      hist[limit] = taken;
      taken += h;
    }
    const out = new Uint32Array(2 * k);
    for (let r = 0; r < rows; r++) {
      const d = dist[r] as number;
      if (d >= limit) continue;
      const at = hist[d] as number;
      hist[d] = at + 1;
      if (at < k) out[at] = r;
    }
    for (let i = 0; i < k; i++) out[k + i] = dist[out[i] as number] as number;
    return out;
  },
  hammingTopK2(head, tail, rows, qHead, qTail, k1, k) {
    const hw = qHead.byteLength / 4;
    const tw = qTail.byteLength / 4;
    const h = new Uint32Array(head.buffer, head.byteOffset, rows * hw);
    const t = new Uint32Array(tail.buffer, tail.byteOffset, rows * tw);
    const qh = new Uint32Array(qHead.buffer, qHead.byteOffset, hw);
    const qt = new Uint32Array(qTail.buffer, qTail.byteOffset, tw);
    k1 = Math.min(k1, rows);
    k = Math.min(k, k1);
    const dist = new Uint16Array(rows);
    const hist = new Uint32Array((hw + tw) * 32 + 1);
    for (let r = 0; r < rows; r++) {
      let d = 0;
      for (let w = 0, o = r * hw; w < hw; w++)
        d += popcount32(((h[o + w] as number) ^ (qh[w] as number)) >>> 0);
      dist[r] = d;
      hist[d] = (hist[d] as number) + 1;
    }
    // The k1 nearest by the head: every row below `limit`, and the first `ties` rows at it.
    let taken = 0;
    let limit = 0;
    while (limit < hw * 32 && taken + (hist[limit] as number) < k1) taken += hist[limit++] as number;
    let ties = k1 - taken;
    const cand = new Uint32Array(k1);
    const cd = new Uint16Array(k1);
    let n = 0;
    for (let r = 0; r < rows && n < k1; r++) {
      const d = dist[r] as number;
      if (d < limit || (d === limit && ties-- > 0)) {
        let e = d;
        for (let w = 0, o = r * tw; w < tw; w++)
          e += popcount32(((t[o + w] as number) ^ (qt[w] as number)) >>> 0);
        cand[n] = r;
        cd[n++] = e;
      }
    }
    hist.fill(0);
    for (let i = 0; i < n; i++) hist[cd[i] as number] = (hist[cd[i] as number] as number) + 1;
    taken = 0;
    limit = 0;
    for (; limit < hist.length && taken < k; limit++) {
      const x = hist[limit] as number;
      hist[limit] = taken;
      taken += x;
    }
    const out = new Uint32Array(2 * k);
    for (let i = 0; i < n; i++) {
      const d = cd[i] as number;
      if (d >= limit) continue;
      const at = hist[d] as number;
      hist[d] = at + 1;
      if (at < k) {
        out[at] = cand[i] as number;
        out[k + at] = d;
      }
    }
    return out;
  },
  dotI8(data, dim, rows, query) {
    const out = new Int32Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      let s = 0;
      for (let j = 0, o = (rows[i] as number) * dim; j < dim; j++)
        s += (data[o + j] as number) * (query[j] as number);
      out[i] = s;
    }
    return out;
  },
  adviseHugePages() {
    return false;
  },
  codeTopN(head, headBytes, tail, tailBytes, rows, table, n) {
    const scores = jsKernels.codeDots(head, headBytes, rows, table.subarray(0, headBytes * 256));
    if (tailBytes > 0) {
      const more = jsKernels.codeDots(tail, tailBytes, rows, table.subarray(headBytes * 256));
      for (let i = 0; i < scores.length; i++) scores[i] = (scores[i] as number) + (more[i] as number);
    }
    return topN(rows, scores, Math.min(n, rows.length));
  },
  shortlistByCode(head, tail, rows, qHead, qTail, k, table, n) {
    const nearest = jsKernels.hammingTopK2(head, tail, rows, qHead, qTail, rows, k);
    const kept = nearest.subarray(0, nearest.length / 2);
    return jsKernels.codeTopN(head, qHead.byteLength, tail, qTail.byteLength, kept, table, n);
  },
  codeDots(codes, bytes, rows, table) {
    const out = new Int32Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      let s = 0;
      for (let b = 0, o = (rows[i] as number) * bytes; b < bytes; b++)
        s += table[b * 256 + (codes[o + b] as number)] as number;
      out[i] = s;
    }
    return out;
  },
};

/** The `n` rows of the highest scores (ties at the cut: the first ones), in their given order. */
export function topN(rows: Uint32Array, scores: Int32Array, n: number): Uint32Array {
  const out = new Uint32Array(n);
  if (n === 0) return out;
  const cut = Int32Array.from(scores).sort()[scores.length - n] as number;
  let ties = n - scores.filter((x) => x > cut).length;
  let at = 0;
  for (let i = 0; i < rows.length && at < n; i++) {
    const x = scores[i] as number;
    if (x > cut || (x === cut && ties-- > 0)) out[at++] = rows[i] as number;
  }
  return out;
}

/**
 * The query's table for codeDots: entry [b * 256 + v] sums the int8 query components whose
 * bits are set in byte value v at code byte b. A code's score, 2 * sum - sum(query), is the
 * query's dot product with the template's sign vector (+1/-1): the float query keeps its
 * magnitudes, so this ranks a Hamming shortlist much better than the Hamming distance (measured
 * in bench:identify binary-store: recall@1 0.971 -> see README).
 */
export function codeTable(query8: Int8Array): Int32Array {
  const bytes = Math.ceil(query8.length / 64) * 8;
  const table = new Int32Array(bytes * 256);
  // Per code byte, the sums of its low and its high four bits' components (16 each), then every
  // byte value as one of each: 75-100 us a 512-d table against 160-170 for a sum per value with
  // its lowest bit taken off (2000 tables, twice each, one process).
  const lo = new Int32Array(16);
  const hi = new Int32Array(16);
  for (let b = 0; b < bytes; b++) {
    for (let v = 1; v < 16; v++) {
      const low = v & -v;
      const bit = 31 - Math.clz32(low);
      lo[v] = (lo[v ^ low] as number) + ((query8[b * 8 + bit] as number) || 0);
      hi[v] = (hi[v ^ low] as number) + ((query8[b * 8 + 4 + bit] as number) || 0);
    }
    const o = b * 256;
    for (let h = 0; h < 16; h++) {
      const base = hi[h] as number;
      const at = o + h * 16;
      for (let l = 0; l < 16; l++) table[at + l] = base + (lo[l] as number);
    }
  }
  return table;
}

const native = loadNative();
export const kernels: CodeKernels = native ?? jsKernels;
/** 'native avx512' / 'native avx2' / ... or 'javascript': printed by the benchmarks. */
export const kernelsName = native ? `native ${native.simd()}` : 'javascript';
/** The native scan's counters, or undefined on the JavaScript kernels. */
export const scanStats = (): ScanStats | undefined => native?.scanStats();
export { jsKernels };
