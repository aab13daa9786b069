import { z } from 'zod';
import type { BoundingBox, FaceQuality, Point } from '../face-types.js';

/** Sync 1:N identification of every face in a photo (POST /api/v1/identify). */
export const IDENTIFY_JOB = 'identify' as const;

export const IdentifyJobData = z.object({
  image: z.string(),
  /** Absent = search every group. */
  group: z.string().optional(),
  top_k: z.number().int().positive(),
  /** The caller's per-comparison threshold; absent = the open-set threshold for the gallery. */
  threshold: z.number().nonnegative().optional(),
});
export type IdentifyJobData = z.infer<typeof IdentifyJobData>;

export interface IdentifiedFace {
  bbox: BoundingBox;
  detection_score: number;
  landmarks: Point[];
  quality: FaceQuality;
  candidates: { user_id: string; name: string; distance: number; similarity: number }[];
  is_match: boolean;
}

/** How a 1:N decision's threshold was chosen (carried by every identify answer and frame). */
export interface DecisionBasis {
  /** open_set: for `target_fpir` at `gallery_size`; caller: the request's own threshold. */
  basis: 'open_set' | 'caller';
  threshold: number;
  target_fpir: number | null;
  gallery_size: number;
  /** Share of enrolled people expected to be missed at this threshold (from the model's genuine distances). */
  expected_fnir: number | null;
}

export interface IdentifyJobResult {
  faces: IdentifiedFace[];
  faces_detected: number;
  model: string;
  threshold: number;
  decision: DecisionBasis;
  gallery_size: number;
  processing_ms: number;
}
