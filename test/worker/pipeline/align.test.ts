import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Point } from '../../../src/shared/face-types.js';
import { loadManifest } from '../../../src/shared/model-manifest.js';
import { estimateSimilarity, warpAligned, type Similarity } from '../../../src/worker/pipeline/align.js';
import { embedderInput } from '../../../src/worker/pipeline/embedder.js';
import { Pyramid, type RgbImage } from '../../../src/worker/pipeline/image.js';
import { modelsDir } from '../../helpers/faces.js';

// The shipped pack's alignment: the ArcFace 112x112 template and its embedder's input.
const feature = loadManifest(modelsDir).models.feature;
const ARCFACE_TEMPLATE = (feature.alignment as { template: Point[] }).template;
const ALIGNED_SIZE = feature.input.shape[2] as number;
/** The warp as the embedder receives it: planar, in its colour order and normalisation. */
const warp = (p: Pyramid, t: Similarity) => {
  const face = warpAligned(p, t, ALIGNED_SIZE);
  return { input: embedderInput(face, feature.input), gray: face.gray };
};

const apply = (t: Similarity, [x, y]: Point): Point => [t.a * x - t.b * y + t.tx, t.b * x + t.a * y + t.ty];

function closeTo(got: Similarity, want: Similarity, eps = 1e-9): void {
  for (const k of ['a', 'b', 'tx', 'ty'] as const) {
    assert.ok(Math.abs(got[k] - want[k]) < eps, `${k}: ${got[k]} != ${want[k]}`);
  }
}

/** A similarity from rotation (radians), scale and translation. */
const similarity = (angle: number, scale: number, tx: number, ty: number): Similarity => ({
  a: scale * Math.cos(angle),
  b: scale * Math.sin(angle),
  tx,
  ty,
});

void describe('estimateSimilarity', () => {
  void it('recovers a known rotation, scale and translation exactly', () => {
    const cases = [
      similarity(0.3, 2.5, 40, -12),
      similarity(-1.2, 0.4, -7.5, 300),
      similarity(Math.PI, 1, 0, 0),
      similarity(0, 1, 0, 0),
    ];
    for (const want of cases) {
      const src = ARCFACE_TEMPLATE.map((p) => apply(want, p));
      // estimate the map from the transformed points back onto the template: the inverse
      const inv = estimateSimilarity(src, ARCFACE_TEMPLATE);
      const back = src.map((p) => apply(inv, p));
      back.forEach(([x, y], i) => {
        const [ex, ey] = ARCFACE_TEMPLATE[i] as Point;
        assert.ok(Math.hypot(x - ex, y - ey) < 1e-9, `point ${i}: ${x},${y} vs ${ex},${ey}`);
      });
      closeTo(estimateSimilarity(ARCFACE_TEMPLATE, src), want);
    }
  });

  void it('maps landmarks of a face at 4x scale, rotated 10 degrees, onto the 112x112 template', () => {
    const face = similarity((10 * Math.PI) / 180, 4, 500, 200);
    const landmarks = ARCFACE_TEMPLATE.map((p) => apply(face, p));
    const t = estimateSimilarity(landmarks, ARCFACE_TEMPLATE);
    closeTo(t, { a: 0.25 * Math.cos(-Math.PI / 18), b: 0.25 * Math.sin(-Math.PI / 18), tx: t.tx, ty: t.ty });
  });

  void it('never reflects: a mirrored point set gets the least-squares rotation, not a flip', () => {
    const mirrored = ARCFACE_TEMPLATE.map(([x, y]): Point => [112 - x, y]);
    const t = estimateSimilarity(mirrored, ARCFACE_TEMPLATE);
    // any similarity has determinant a^2 + b^2 >= 0; a reflection (det < 0) cannot be expressed
    const mapped = mirrored.map((p) => apply(t, p));
    const err = mapped.reduce(
      (s, [x, y], i) => s + Math.hypot(x - ARCFACE_TEMPLATE[i]![0], y - ARCFACE_TEMPLATE[i]![1]),
      0,
    );
    assert.ok(err > 10, 'a mirrored face cannot be aligned exactly');
  });

  void it('returns the identity scale for coincident points instead of dividing by zero', () => {
    const same: Point[] = Array.from({ length: 5 }, () => [10, 10]);
    const t = estimateSimilarity(same, ARCFACE_TEMPLATE);
    assert.equal(t.a, 1);
    assert.equal(t.b, 0);
    assert.ok(Number.isFinite(t.tx) && Number.isFinite(t.ty));
  });
});

void describe('warpAligned', () => {
  /** 200x200 image with R = x, G = y, B = 50. */
  function gradient(): RgbImage {
    const width = 200;
    const height = 200;
    const data = new Uint8Array(width * height * 3);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) data.set([x, y, 50], (y * width + x) * 3);
    }
    return { data, width, height };
  }
  const plane = ALIGNED_SIZE * ALIGNED_SIZE;
  const pixel = (input: Float32Array, ch: number, u: number, v: number) =>
    (input[ch * plane + v * ALIGNED_SIZE + u] as number) * 128 + 127;

  void it('writes planar BGR normalised as (p - 127) / 128', () => {
    const { input, gray } = warp(new Pyramid(gradient()), { a: 1, b: 0, tx: 0, ty: 0 });
    assert.equal(input.length, 3 * plane);
    for (const [u, v] of [
      [0, 0],
      [30, 70],
      [111, 5],
    ] as const) {
      assert.ok(Math.abs(pixel(input, 0, u, v) - 50) < 1e-3, 'plane 0 is blue');
      assert.ok(Math.abs(pixel(input, 1, u, v) - v) < 1e-3, 'plane 1 is green');
      assert.ok(Math.abs(pixel(input, 2, u, v) - u) < 1e-3, 'plane 2 is red');
      const g = gray[v * ALIGNED_SIZE + u] as number;
      assert.ok(Math.abs(g - (0.299 * u + 0.587 * v + 0.114 * 50)) < 1e-3);
    }
  });

  void it('samples src = T^-1(dst): a translation by (-20, -30) reads pixel (u + 20, v + 30)', () => {
    const { input } = warp(new Pyramid(gradient()), { a: 1, b: 0, tx: -20, ty: -30 });
    assert.ok(Math.abs(pixel(input, 2, 10, 10) - 30) < 1e-3);
    assert.ok(Math.abs(pixel(input, 1, 10, 10) - 40) < 1e-3);
  });

  void it('shrinks through the pyramid while keeping pixel centres aligned (within one grey level)', () => {
    const { input } = warp(new Pyramid(gradient()), { a: 0.5, b: 0, tx: 0, ty: 0 });
    for (const u of [5, 40, 90]) assert.ok(Math.abs(pixel(input, 2, u, 20) - 2 * u) <= 1, `u=${u}`);
  });

  void it('fills outside the image with black', () => {
    const { input } = warp(new Pyramid(gradient()), { a: 1, b: 0, tx: 100, ty: 0 });
    assert.ok(Math.abs(pixel(input, 0, 5, 50)) < 1e-3, 'u=5 maps to x=-95');
  });
});
