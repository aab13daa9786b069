import type { InferenceSession } from 'onnxruntime-node';
import { Tensor } from 'onnxruntime-node';
import { sampleRoiPlanar, type Pyramid, type Rect } from './image.js';
import { dropContained, nms, type ScoredBox } from './nms.js';

// Figures from MODEL-NOTES.md (measured on LFW with this detector).
const INPUT_W = 320;
const INPUT_H = 240;
const SCORE_THRESHOLD = 0.65;
const TOP_K = 750;
const NMS_IOU = 0.4;
/**
 * Real faces have width/height ~0.55-0.92; a box much wider is two adjacent faces merged into
 * one. 1.3 because on LFW single faces reach 1.17 (the detector sees a stretched image); a merged
 * pair is ~1.5 or more. Filtered before NMS so a merged box cannot suppress the real ones.
 */
const MIN_ASPECT = 0.45;
const MAX_ASPECT = 1.3;
/** Boxes touching a tile edge inside the image are partial faces; a neighbour tile sees them whole. */
const EDGE_MARGIN = 2;

export interface DetectOptions {
  /** 'auto' adds overlapping tiles for frames bigger than 640x480, so ~60 px faces are found. */
  tiling: 'auto' | 'off';
}

/**
 * The tiles to run the 320x240 detector on: the whole image, then for large images a pyramid
 * of 4:3 tiles (640x480, 1280x960, ...) overlapping by a third, so every face up to a third of
 * a tile is wholly inside one tile at a scale where it is 20+ px to the detector.
 */
export function planTiles(width: number, height: number, tiling: DetectOptions['tiling']): Rect[] {
  const tiles: Rect[] = [{ x: 0, y: 0, width, height }];
  if (tiling === 'off') return tiles;
  for (let k = 1; INPUT_W * 2 ** k < width || INPUT_H * 2 ** k < height; k++) {
    const tw = Math.min(INPUT_W * 2 ** k, width);
    const th = Math.min(INPUT_H * 2 ** k, height);
    for (const y of starts(height, th))
      for (const x of starts(width, tw)) tiles.push({ x, y, width: tw, height: th });
  }
  return tiles;
}

function starts(total: number, size: number): number[] {
  if (size >= total) return [0];
  const stride = (size * 2) / 3;
  const n = Math.ceil((total - size) / stride) + 1;
  const step = (total - size) / (n - 1);
  return Array.from({ length: n }, (_, i) => Math.round(i * step));
}

export async function detectFaces(
  session: InferenceSession,
  pyramid: Pyramid,
  options: DetectOptions,
): Promise<ScoredBox[]> {
  const { width, height } = pyramid.base;
  const input = new Float32Array(3 * INPUT_W * INPUT_H);
  const found: ScoredBox[] = [];
  for (const tile of planTiles(width, height, options.tiling)) {
    sampleRoiPlanar(pyramid, tile, INPUT_W, INPUT_H, 'rgb', 127, 128, input);
    const out = await session.run({ input: new Tensor('float32', input, [1, 3, INPUT_H, INPUT_W]) });
    const boxes = decodeOutputs(out.scores?.data as Float32Array, out.boxes?.data as Float32Array, tile);
    found.push(...boxes.filter((b) => !touchesInnerEdge(b, tile, width, height)));
  }
  return dropContained(nms(found, NMS_IOU));
}

function decodeOutputs(scores: Float32Array, boxes: Float32Array, tile: Rect): ScoredBox[] {
  const candidates: ScoredBox[] = [];
  const n = scores.length / 2;
  for (let i = 0; i < n; i++) {
    const score = scores[2 * i + 1] as number;
    if (score < SCORE_THRESHOLD) continue;
    // Boxes are already decoded by the graph: normalised corners; do not apply priors again.
    const clamp = (v: number) => Math.min(Math.max(v, 0), 1);
    const box = {
      x1: tile.x + clamp(boxes[4 * i] as number) * tile.width,
      y1: tile.y + clamp(boxes[4 * i + 1] as number) * tile.height,
      x2: tile.x + clamp(boxes[4 * i + 2] as number) * tile.width,
      y2: tile.y + clamp(boxes[4 * i + 3] as number) * tile.height,
      score,
    };
    if (isFaceShaped(box)) candidates.push(box);
  }
  return nms(candidates, NMS_IOU, TOP_K);
}

function touchesInnerEdge(b: ScoredBox, tile: Rect, width: number, height: number): boolean {
  return (
    (tile.x > 0 && b.x1 <= tile.x + EDGE_MARGIN) ||
    (tile.y > 0 && b.y1 <= tile.y + EDGE_MARGIN) ||
    (tile.x + tile.width < width && b.x2 >= tile.x + tile.width - EDGE_MARGIN) ||
    (tile.y + tile.height < height && b.y2 >= tile.y + tile.height - EDGE_MARGIN)
  );
}

function isFaceShaped(b: ScoredBox): boolean {
  const w = b.x2 - b.x1;
  const h = b.y2 - b.y1;
  if (w < 4 || h < 4) return false;
  const aspect = w / h;
  return aspect >= MIN_ASPECT && aspect <= MAX_ASPECT;
}
