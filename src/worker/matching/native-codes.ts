import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * The prefilter's two kernels. The compiled one (native/codes.c, built by `npm run build` into
 * codes.node beside this file) scans 1M 64-byte codes in ~2.5 ms on one core (AVX-512
 * VPOPCNTDQ, memory bound); the JavaScript fallback below gives the same answers ~15x slower,
 * for a machine where the addon could not be compiled.
 */
export interface CodeKernels {
  /** The k rows nearest to `query` by Hamming distance, nearest first: [rows..., distances...]. */
  hammingTopK(codes: Uint8Array, rows: number, query: Uint8Array, k: number): Uint32Array;
  /** int8 inner products of `query` with the given rows of `data` (dim values each). */
  dotI8(data: Int8Array, dim: number, rows: Uint32Array, query: Int8Array): Int32Array;
}

const addonPath = fileURLToPath(new URL('./codes.node', import.meta.url));

function loadNative(): CodeKernels | undefined {
  if (process.env.SHELIA_NO_NATIVE === '1' || !existsSync(addonPath)) return undefined;
  return createRequire(import.meta.url)(addonPath) as CodeKernels;
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
};

const native = loadNative();
export const kernels: CodeKernels = native ?? jsKernels;
export const kernelsName = native ? 'native' : 'javascript';
export { jsKernels };
