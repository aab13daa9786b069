import type { Point } from '../../shared/face-types.js';
import type { Pyramid } from './image.js';
import type { AlignedFace } from './seams.js';

/** Similarity transform x' = a*x - b*y + tx, y' = b*x + a*y + ty. */
export interface Similarity {
  a: number;
  b: number;
  tx: number;
  ty: number;
}

/**
 * Least-squares similarity (Umeyama, no reflection) mapping `src` onto `dst`. For 2-D
 * similarity the closed form is the linear least-squares solution in (a, b, tx, ty).
 * A 3-point affine instead costs ~10 points of LFW accuracy (MODEL-NOTES.md).
 */
export function estimateSimilarity(src: readonly Point[], dst: readonly Point[]): Similarity {
  const n = src.length;
  let sx = 0;
  let sy = 0;
  let dx = 0;
  let dy = 0;
  for (let i = 0; i < n; i++) {
    sx += (src[i] as Point)[0];
    sy += (src[i] as Point)[1];
    dx += (dst[i] as Point)[0];
    dy += (dst[i] as Point)[1];
  }
  sx /= n;
  sy /= n;
  dx /= n;
  dy /= n;
  let num1 = 0;
  let num2 = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    const px = (src[i] as Point)[0] - sx;
    const py = (src[i] as Point)[1] - sy;
    const qx = (dst[i] as Point)[0] - dx;
    const qy = (dst[i] as Point)[1] - dy;
    num1 += px * qx + py * qy;
    num2 += px * qy - py * qx;
    den += px * px + py * py;
  }
  const a = den === 0 ? 1 : num1 / den;
  const b = den === 0 ? 0 : num2 / den;
  return { a, b, tx: dx - (a * sx - b * sy), ty: dy - (b * sx + a * sy) };
}

/**
 * Warps the face into the `size` x `size` aligned crop (bilinear, outside the image = 0): the
 * unrounded RGB samples, which the embedder normalises as its manifest says, and the grey crop
 * for the sharpness measure. Large faces are sampled from a pyramid level so they do not alias.
 */
export function warpAligned(pyramid: Pyramid, t: Similarity, size: number): AlignedFace {
  const scale = Math.hypot(t.a, t.b);
  const { image, factor } = pyramid.forScale(scale);
  // Inverse map: src = R^-1 (dst - t) / s^2, then into the chosen pyramid level.
  const det = t.a * t.a + t.b * t.b;
  const ia = t.a / det / factor;
  const ib = t.b / det / factor;
  const S = size;
  const rgb = new Float64Array(3 * S * S);
  const gray = new Float32Array(S * S);
  const { data, width, height } = image;
  for (let v = 0; v < S; v++) {
    for (let u = 0; u < S; u++) {
      const ux = u - t.tx;
      const vy = v - t.ty;
      // (level-pixel-centre correction keeps a level-k sample aligned with the base image)
      const fx = ia * ux + ib * vy + (0.5 / factor - 0.5);
      const fy = -ib * ux + ia * vy + (0.5 / factor - 0.5);
      const i = v * S + u;
      const x0 = Math.floor(fx);
      const y0 = Math.floor(fy);
      const wx = fx - x0;
      const wy = fy - y0;
      let r = 0;
      let g = 0;
      let bl = 0;
      for (let k = 0; k < 4; k++) {
        const xx = x0 + (k & 1);
        const yy = y0 + (k >> 1);
        if (xx < 0 || yy < 0 || xx >= width || yy >= height) continue;
        const w = ((k & 1) === 1 ? wx : 1 - wx) * (k >> 1 === 1 ? wy : 1 - wy);
        const o = (yy * width + xx) * 3;
        r += w * (data[o] as number);
        g += w * (data[o + 1] as number);
        bl += w * (data[o + 2] as number);
      }
      rgb[3 * i] = r;
      rgb[3 * i + 1] = g;
      rgb[3 * i + 2] = bl;
      gray[i] = 0.299 * r + 0.587 * g + 0.114 * bl;
    }
  }
  return { size: S, rgb, gray };
}
