import type { InferenceSession } from 'onnxruntime-node';
import { Tensor } from 'onnxruntime-node';
import { z } from 'zod';
import type { Point } from '../../../../shared/face-types.js';
import type { ModelManifest } from '../../../../shared/model-manifest.js';
import { estimateSimilarity, warpAligned } from '../../align.js';
import { sampleRoiGray, type Pyramid, type Rect } from '../../image.js';
import type { ScoredBox } from '../../nms.js';
import type { AlignedFace, Aligner } from '../../seams.js';

/** The landmark model's entry: which of its 68 points average into each of the 5 (MODEL-NOTES.md). */
const LandmarkParams = z.object({
  five_points: z.array(z.array(z.number().int().min(0).max(67)).min(1)).length(5),
});
/** The embedder's entry: the reference points the 5 landmarks are mapped onto. */
const Alignment = z.object({
  method: z.literal('similarity_5pt'),
  template: z.array(z.tuple([z.number(), z.number()])).length(5),
});

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

/** 68 iBUG points -> the 5 alignment points: each the mean of the points `groups` names. */
export function fivePoints(p68: Float32Array, crop: Rect, groups: readonly (readonly number[])[]): Point[] {
  const pt = (i: number): Point => [
    crop.x + (p68[2 * i] as number) * crop.width,
    crop.y + (p68[2 * i + 1] as number) * crop.height,
  ];
  const mean = (idx: readonly number[]): Point => {
    if (idx.length === 1) return pt(idx[0] as number);
    const pts = idx.map(pt);
    return [pts.reduce((s, p) => s + p[0], 0) / pts.length, pts.reduce((s, p) => s + p[1], 0) / pts.length];
  };
  return groups.map(mean);
}

/**
 * 68-point landmarks (fr_landmark, 64x64 grey crop of the box) reduced to 5 points, then the
 * least-squares similarity of those onto the embedder's template (Umeyama; a 3-point affine
 * costs ~10 points of LFW accuracy).
 */
export class Ibug68Aligner implements Aligner {
  private readonly groups: number[][];
  private readonly template: [number, number][];
  private readonly input: ModelManifest['models']['landmark']['input'];
  private readonly output: string;
  /** The embedder's crop side. */
  private readonly size: number;

  constructor(
    private readonly session: InferenceSession,
    manifest: ModelManifest,
  ) {
    const entry = manifest.models.landmark;
    if (entry.input.colour_order !== 'GRAY_BT601') throw new Error('the 68-point model takes grey input');
    this.groups = LandmarkParams.parse(entry.params).five_points;
    this.template = Alignment.parse(manifest.models.feature.alignment).template;
    this.input = entry.input;
    this.output = Object.keys(entry.outputs)[0] as string;
    this.size = manifest.models.feature.input.shape[2] as number;
  }

  async landmarks(pyramid: Pyramid, box: ScoredBox): Promise<Point[]> {
    const crop = landmarkCrop(box, pyramid.base.width, pyramid.base.height);
    const [, , h, w] = this.input.shape as [number, number, number, number];
    const gray = sampleRoiGray(pyramid, crop, w, h, this.input.mean, this.input.std);
    const out = await this.session.run({ [this.input.name]: new Tensor('float32', gray, [1, 1, h, w]) });
    const points = out[this.output];
    if (!points) throw new Error(`landmark model returned no output ${this.output}`);
    return fivePoints(points.data as Float32Array, crop, this.groups);
  }

  align(pyramid: Pyramid, landmarks: readonly Point[]): AlignedFace {
    return warpAligned(pyramid, estimateSimilarity(landmarks, this.template), this.size);
  }
}
