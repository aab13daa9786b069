import type { InferenceSession } from 'onnxruntime-node';
import { Tensor } from 'onnxruntime-node';
import { z } from 'zod';
import type { ModelManifest } from '../../../../shared/model-manifest.js';
import { sampleRoiPlanar, type Pyramid, type Rect } from '../../image.js';
import { dropContained, nms, type ScoredBox } from '../../nms.js';
import type { DetectOptions, Detector } from '../../seams.js';

/** The detector's entry in the manifest: its decoding figures (MODEL-NOTES.md, measured on LFW). */
const DetectParams = z.object({
  score_threshold: z.number().min(0).max(1),
  top_k: z.number().int().positive(),
  nms_iou: z.number().min(0).max(1),
});
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
 * some score under the manifest's score_threshold (0.65): 3 of 120 faces of 54-117 px in 4K frames were lost that way
 * (57, 60, 63 px) while none were in 1080p. Each box scoring WEAK_SCORE or more gets a second
 * look: one tile of 640x480 original pixels around it, the scale of a 1080p frame's finest
 * tiles. That found all 120 for ~0.3 extra detector runs per frame (bench:frames); at most
 * MAX_SECOND_LOOKS per frame, so a busy background cannot multiply the cost.
 */
const WEAK_SCORE = 0.3;
const MAX_SECOND_LOOKS = 16;

/**
 * The tiles to run the 320x240 detector on: the whole image, then for large images a pyramid
 * of 4:3 tiles (640x480, 1280x960, ...) overlapping by a third, so every face up to a third of
 * a tile is wholly inside one tile at a scale where it is 20+ px to the detector.
 */
export function planTiles(
  width: number,
  height: number,
  tiling: DetectOptions['tiling'],
  input: { width: number; height: number },
): Rect[] {
  const tiles: Rect[] = [{ x: 0, y: 0, width, height }];
  if (tiling === 'off') return tiles;
  for (let k = 1; input.width * 2 ** k < width || input.height * 2 ** k < height; k++) {
    const tw = Math.min(input.width * 2 ** k, width);
    const th = Math.min(input.height * 2 ** k, height);
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

/** What the functions below need of the detector: its session and the manifest's figures. */
interface Model {
  session: InferenceSession;
  input: string;
  scores: string;
  boxes: string;
  order: 'rgb' | 'bgr';
  mean: number;
  std: number;
  /** The detector's input size: the whole image or a tile is stretched to it. */
  width: number;
  height: number;
  scoreThreshold: number;
  topK: number;
  nmsIou: number;
}

/** UltraFace RFB-320 (fr_detect): boxes come out already decoded, corners normalised to [0,1]. */
export class UltraFaceDetector implements Detector {
  private readonly m: Model;

  constructor(session: InferenceSession, manifest: ModelManifest) {
    const entry = manifest.models.detect;
    const params = DetectParams.parse(entry.params);
    const { input } = entry;
    if (input.colour_order === 'GRAY_BT601') throw new Error('the UltraFace detector takes colour input');
    this.m = {
      session,
      input: input.name,
      scores: 'scores',
      boxes: 'boxes',
      order: input.colour_order === 'RGB' ? 'rgb' : 'bgr',
      mean: input.mean,
      std: input.std,
      width: input.shape[3] as number,
      height: input.shape[2] as number,
      scoreThreshold: params.score_threshold,
      topK: params.top_k,
      nmsIou: params.nms_iou,
    };
    for (const name of [this.m.scores, this.m.boxes])
      if (!(name in entry.outputs)) throw new Error(`the detector's manifest entry has no output ${name}`);
  }

  detect(pyramid: Pyramid, options: DetectOptions): Promise<ScoredBox[]> {
    return detectFaces(this.m, pyramid, options);
  }
}

async function detectFaces(m: Model, pyramid: Pyramid, options: DetectOptions): Promise<ScoredBox[]> {
  const { width, height } = pyramid.base;
  // Tiles are planned on the image shrunk to maxSide and mapped back to full-resolution pixels;
  // sampling them from the pyramid (a level at most 2x above the detector's scale) gives the
  // detector what it would get from an image decoded at maxSide.
  const s = Math.max(1, Math.max(width, height) / options.maxSide);
  const plan = planTiles(Math.round(width / s), Math.round(height / s), options.tiling, m);
  const input = new Float32Array(3 * m.width * m.height);
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
    const minScore = s > 1 && options.tiling === 'auto' ? WEAK_SCORE : m.scoreThreshold;
    for (const b of await runTile(m, pyramid, tile, s, minScore, input))
      (b.score >= m.scoreThreshold ? found : weak).push(b);
  }
  const kept = nms(found, m.nmsIou);
  if (weak.length > 0) kept.push(...(await secondLook(m, pyramid, kept, weak, input)));
  return dropContained(nms(kept, m.nmsIou));
}

/** The detector on one tile: face-shaped boxes scoring `minScore` or more, not cut by the tile. */
async function runTile(
  m: Model,
  pyramid: Pyramid,
  tile: Rect,
  s: number,
  minScore: number,
  input: Float32Array,
): Promise<ScoredBox[]> {
  const { width, height } = pyramid.base;
  sampleRoiPlanar(pyramid, tile, m.width, m.height, m.order, m.mean, m.std, input);
  const out = await m.session.run({ [m.input]: new Tensor('float32', input, [1, 3, m.height, m.width]) });
  const scores = out[m.scores]?.data as Float32Array;
  const boxes = decodeOutputs(m, scores, out[m.boxes]?.data as Float32Array, tile, s, minScore);
  return boxes.filter((b) => !touchesInnerEdge(b, tile, width, height, EDGE_MARGIN * s));
}

/** Full-resolution tiles around weak boxes that are no part of a face already found (best first). */
async function secondLook(
  m: Model,
  pyramid: Pyramid,
  kept: ScoredBox[],
  weak: ScoredBox[],
  input: Float32Array,
): Promise<ScoredBox[]> {
  const { width, height } = pyramid.base;
  const tw = Math.min(2 * m.width, width);
  const th = Math.min(2 * m.height, height);
  const looked: Rect[] = [];
  const out: ScoredBox[] = [];
  for (const w of nms(weak, m.nmsIou)) {
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
    out.push(...(await runTile(m, pyramid, tile, 1, m.scoreThreshold, input)));
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
  m: Model,
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
  return nms(candidates, m.nmsIou, m.topK);
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
