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
/**
 * In a frame larger than maxSide a ~60 px face is ~15 px to the detector in the finest tiles, and
 * some score under SCORE_THRESHOLD: 3 of 120 faces of 54-117 px in 4K frames were lost that way
 * (57, 60, 63 px) while none were in 1080p. Each box scoring WEAK_SCORE or more gets a second
 * look: one tile of 640x480 original pixels around it, the scale of a 1080p frame's finest
 * tiles. That found all 120 for ~0.3 extra detector runs per frame (bench:frames); at most
 * MAX_SECOND_LOOKS per frame, so a busy background cannot multiply the cost.
 */
const WEAK_SCORE = 0.3;
const MAX_SECOND_LOOKS = 16;

export interface DetectOptions {
  /** 'auto' adds overlapping tiles for frames bigger than 640x480, so ~60 px faces are found. */
  tiling: 'auto' | 'off';
  /**
   * Longest side the detector works at (MAX_DECODE_SIDE): a bigger image is tiled as if shrunk
   * to it, so detecting in a 4K frame costs what it does in a 1080p one. Boxes come back in
   * full-resolution pixels, for landmarks and alignment to use the full-resolution face.
   */
  maxSide: number;
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
  // Tiles are planned on the image shrunk to maxSide and mapped back to full-resolution pixels;
  // sampling them from the pyramid (a level at most 2x above the detector's scale) gives the
  // detector what it would get from an image decoded at maxSide.
  const s = Math.max(1, Math.max(width, height) / options.maxSide);
  const plan = planTiles(Math.round(width / s), Math.round(height / s), options.tiling);
  const input = new Float32Array(3 * INPUT_W * INPUT_H);
  const found: ScoredBox[] = [];
  const weak: ScoredBox[] = [];
  for (const t of plan) {
    const x = t.x * s;
    const y = t.y * s;
    const tile = {
      x,
      y,
      width: Math.min(t.width * s, width - x),
      height: Math.min(t.height * s, height - y),
    };
    const minScore = s > 1 && options.tiling === 'auto' ? WEAK_SCORE : SCORE_THRESHOLD;
    for (const b of await runTile(session, pyramid, tile, s, minScore, input))
      (b.score >= SCORE_THRESHOLD ? found : weak).push(b);
  }
  const kept = nms(found, NMS_IOU);
  if (weak.length > 0) kept.push(...(await secondLook(session, pyramid, kept, weak, input)));
  return dropContained(nms(kept, NMS_IOU));
}

/** The detector on one tile: face-shaped boxes scoring `minScore` or more, not cut by the tile. */
async function runTile(
  session: InferenceSession,
  pyramid: Pyramid,
  tile: Rect,
  s: number,
  minScore: number,
  input: Float32Array,
): Promise<ScoredBox[]> {
  const { width, height } = pyramid.base;
  sampleRoiPlanar(pyramid, tile, INPUT_W, INPUT_H, 'rgb', 127, 128, input);
  const out = await session.run({ input: new Tensor('float32', input, [1, 3, INPUT_H, INPUT_W]) });
  const scores = out.scores?.data as Float32Array;
  const boxes = decodeOutputs(scores, out.boxes?.data as Float32Array, tile, s, minScore);
  return boxes.filter((b) => !touchesInnerEdge(b, tile, width, height, EDGE_MARGIN * s));
}

/** Full-resolution tiles around weak boxes that are no part of a face already found (best first). */
async function secondLook(
  session: InferenceSession,
  pyramid: Pyramid,
  kept: ScoredBox[],
  weak: ScoredBox[],
  input: Float32Array,
): Promise<ScoredBox[]> {
  const { width, height } = pyramid.base;
  const tw = Math.min(2 * INPUT_W, width);
  const th = Math.min(2 * INPUT_H, height);
  const looked: Rect[] = [];
  const out: ScoredBox[] = [];
  for (const w of nms(weak, NMS_IOU)) {
    if (looked.length >= MAX_SECOND_LOOKS) break;
    const [cx, cy] = [(w.x1 + w.x2) / 2, (w.y1 + w.y2) / 2];
    // Over a third of the tile (160 px) it would be cut off, and the first pass saw it at 25+ px
    // (frames up to 6000 px wide): enough for the detector, so a low score there is no face.
    if (w.y2 - w.y1 > th / 3) continue;
    if (kept.some((k) => cx >= k.x1 && cx <= k.x2 && cy >= k.y1 && cy <= k.y2)) continue;
    if (looked.some((t) => wellInside(w, t))) continue;
    const x = Math.min(Math.max(cx - tw / 2, 0), width - tw);
    const y = Math.min(Math.max(cy - th / 2, 0), height - th);
    const tile = { x, y, width: tw, height: th };
    looked.push(tile);
    out.push(...(await runTile(session, pyramid, tile, 1, SCORE_THRESHOLD, input)));
  }
  return out;
}

/** `b` lies inside `t` with a margin of its own height, so that tile saw it whole. */
function wellInside(b: ScoredBox, t: Rect): boolean {
  const m = b.y2 - b.y1;
  return b.x1 >= t.x + m && b.y1 >= t.y + m && b.x2 <= t.x + t.width - m && b.y2 <= t.y + t.height - m;
}

/** `s`: full-resolution pixels per detection pixel, so size limits mean what they did at maxSide. */
function decodeOutputs(
  scores: Float32Array,
  boxes: Float32Array,
  tile: Rect,
  s: number,
  minScore: number,
): ScoredBox[] {
  const candidates: ScoredBox[] = [];
  const n = scores.length / 2;
  for (let i = 0; i < n; i++) {
    const score = scores[2 * i + 1] as number;
    if (score < minScore) continue;
    // Boxes are already decoded by the graph: normalised corners; do not apply priors again.
    const clamp = (v: number) => Math.min(Math.max(v, 0), 1);
    const box = {
      x1: tile.x + clamp(boxes[4 * i] as number) * tile.width,
      y1: tile.y + clamp(boxes[4 * i + 1] as number) * tile.height,
      x2: tile.x + clamp(boxes[4 * i + 2] as number) * tile.width,
      y2: tile.y + clamp(boxes[4 * i + 3] as number) * tile.height,
      score,
    };
    if (isFaceShaped(box, 4 * s)) candidates.push(box);
  }
  return nms(candidates, NMS_IOU, TOP_K);
}

function touchesInnerEdge(b: ScoredBox, tile: Rect, width: number, height: number, margin: number): boolean {
  return (
    (tile.x > 0 && b.x1 <= tile.x + margin) ||
    (tile.y > 0 && b.y1 <= tile.y + margin) ||
    (tile.x + tile.width < width && b.x2 >= tile.x + tile.width - margin) ||
    (tile.y + tile.height < height && b.y2 >= tile.y + tile.height - margin)
  );
}

function isFaceShaped(b: ScoredBox, minSide: number): boolean {
  const w = b.x2 - b.x1;
  const h = b.y2 - b.y1;
  if (w < minSide || h < minSide) return false;
  const aspect = w / h;
  return aspect >= MIN_ASPECT && aspect <= MAX_ASPECT;
}
