import type { InferenceSession } from 'onnxruntime-node';
import { Tensor } from 'onnxruntime-node';
import type { Point } from '../../shared/face-types.js';
import { sampleRoiGray, type Pyramid, type Rect } from './image.js';
import type { ScoredBox } from './nms.js';

const SIZE = 64;

/**
 * The landmark model's crop (MODEL-NOTES.md): a square of side = box height, centred on the
 * box centre, clipped to the image, no margin. A margin costs ~0.8 points of LFW accuracy.
 */
export function landmarkCrop(box: ScoredBox, width: number, height: number): Rect {
  const side = box.y2 - box.y1;
  const cx = (box.x1 + box.x2) / 2;
  const cy = (box.y1 + box.y2) / 2;
  const x1 = Math.max(0, cx - side / 2);
  const y1 = Math.max(0, cy - side / 2);
  const x2 = Math.min(width, cx + side / 2);
  const y2 = Math.min(height, cy + side / 2);
  return { x: x1, y: y1, width: Math.max(1, x2 - x1), height: Math.max(1, y2 - y1) };
}

/** 68 iBUG points -> the 5 ArcFace points (0-based indices, MODEL-NOTES.md). */
export function fivePoints(p68: Float32Array, crop: Rect): Point[] {
  const pt = (i: number): Point => [
    crop.x + (p68[2 * i] as number) * crop.width,
    crop.y + (p68[2 * i + 1] as number) * crop.height,
  ];
  const mean = (...idx: number[]): Point => {
    const pts = idx.map(pt);
    return [pts.reduce((s, p) => s + p[0], 0) / pts.length, pts.reduce((s, p) => s + p[1], 0) / pts.length];
  };
  return [mean(37, 38, 40, 41), mean(43, 44, 46, 47), pt(30), mean(48, 60), mean(54, 64)];
}

export async function detectLandmarks(
  session: InferenceSession,
  pyramid: Pyramid,
  box: ScoredBox,
): Promise<Point[]> {
  const crop = landmarkCrop(box, pyramid.base.width, pyramid.base.height);
  const gray = sampleRoiGray(pyramid, crop, SIZE, SIZE, 256);
  const out = await session.run({ input: new Tensor('float32', gray, [1, 1, SIZE, SIZE]) });
  const first = Object.values(out)[0];
  if (!first) throw new Error('landmark model returned no output');
  return fivePoints(first.data as Float32Array, crop);
}
