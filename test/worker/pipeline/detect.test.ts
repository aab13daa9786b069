import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planTiles as plan } from '../../../src/worker/pipeline/packs/ultraface-ibug68/detector.js';
import type { Rect } from '../../../src/worker/pipeline/image.js';
import { iou, nms, type ScoredBox } from '../../../src/worker/pipeline/nms.js';

/** fr_detect's input: 320x240. */
const planTiles = (w: number, h: number, tiling: 'auto' | 'off') =>
  plan(w, h, tiling, { width: 320, height: 240 });

const box = (x1: number, y1: number, x2: number, y2: number, score: number): ScoredBox => ({
  x1,
  y1,
  x2,
  y2,
  score,
});
const inside = (r: Rect, x: number, y: number, w: number, h: number) =>
  x >= r.x && y >= r.y && x + w <= r.x + r.width && y + h <= r.y + r.height;

void describe('planTiles', () => {
  void it('uses the whole image as the only tile for a 250x250 photo', () => {
    assert.deepEqual(planTiles(250, 250, 'auto'), [{ x: 0, y: 0, width: 250, height: 250 }]);
  });

  void it('adds no tiles up to 640x480, nor with tiling off', () => {
    assert.equal(planTiles(640, 480, 'auto').length, 1);
    assert.deepEqual(planTiles(1920, 1080, 'off'), [{ x: 0, y: 0, width: 1920, height: 1080 }]);
  });

  void describe('on a 1920x1080 frame', () => {
    const tiles = planTiles(1920, 1080, 'auto');
    const [whole, ...rest] = tiles;
    const levels = new Map<number, Rect[]>();
    for (const t of rest) levels.set(t.width, [...(levels.get(t.width) ?? []), t]);

    void it('starts with the whole frame, then 4:3 tiles inside the frame', () => {
      assert.deepEqual(whole, { x: 0, y: 0, width: 1920, height: 1080 });
      assert.ok(rest.length > 1);
      for (const t of rest) {
        assert.ok(
          inside({ x: 0, y: 0, width: 1920, height: 1080 }, t.x, t.y, t.width, t.height),
          JSON.stringify(t),
        );
        assert.equal(t.width * 3, t.height * 4, JSON.stringify(t));
        assert.ok(Number.isInteger(t.x) && Number.isInteger(t.y));
      }
      assert.deepEqual(
        [...levels.keys()].sort((a, b) => a - b),
        [640, 1280],
      );
    });

    void it('covers every pixel of the frame at each tile size', () => {
      for (const [size, level] of levels) {
        for (let y = 0; y < 1080; y += 7) {
          for (let x = 0; x < 1920; x += 7) {
            assert.ok(
              level.some((t) => inside(t, x, y, 1, 1)),
              `${size}: pixel ${x},${y} not covered`,
            );
          }
        }
        assert.ok(
          level.some((t) => inside(t, 1919, 1079, 1, 1)),
          `${size}: last pixel`,
        );
      }
    });

    void it('overlaps neighbouring tiles so any face up to a third of a tile fits wholly in one', () => {
      for (const [, level] of levels) {
        const first = level[0] as Rect;
        const side = Math.floor(first.height / 3);
        for (let y = 0; y + side <= 1080; y += 9) {
          for (let x = 0; x + side <= 1920; x += 9) {
            assert.ok(
              level.some((t) => inside(t, x, y, side, side)),
              `${side}px face at ${x},${y} split`,
            );
          }
        }
      }
    });
  });
});

void describe('nms', () => {
  void it('drops boxes overlapping a better one above the threshold and keeps the rest, best first', () => {
    const a = box(0, 0, 100, 100, 0.9);
    const overlapping = box(10, 10, 110, 110, 0.95); // IoU with a = 0.68
    const separate = box(300, 300, 360, 380, 0.7);
    const kept = nms([a, overlapping, separate], 0.4);
    assert.deepEqual(kept, [overlapping, separate]);
  });

  void it('keeps a box whose IoU is exactly the threshold, drops it just above', () => {
    const a = box(0, 0, 10, 10, 0.9);
    const b = box(5, 0, 15, 10, 0.8); // IoU = 50 / 150 = 1/3
    assert.ok(Math.abs(iou(a, b) - 1 / 3) < 1e-12);
    assert.equal(nms([a, b], iou(a, b)).length, 2);
    assert.equal(nms([a, b], iou(a, b) - 1e-9).length, 1);
  });

  void it('keeps at most topK boxes, taken by score, and leaves its input untouched', () => {
    const input = [box(0, 0, 1, 1, 0.1), box(10, 10, 11, 11, 0.9), box(20, 20, 21, 21, 0.5)];
    const before = [...input];
    assert.deepEqual(
      nms(input, 0.4, 2).map((b) => b.score),
      [0.9, 0.5],
    );
    assert.deepEqual(input, before);
  });

  void it('iou is 0 for disjoint or touching boxes and 1 for identical ones', () => {
    assert.equal(iou(box(0, 0, 10, 10, 1), box(10, 0, 20, 10, 1)), 0);
    assert.equal(iou(box(0, 0, 10, 10, 1), box(50, 50, 60, 60, 1)), 0);
    assert.equal(iou(box(0, 0, 10, 10, 1), box(0, 0, 10, 10, 0.5)), 1);
  });
});
