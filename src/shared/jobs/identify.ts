import { z } from 'zod';
import type { BoundingBox, FaceQuality, Point } from '../face-types.js';

/** Sync 1:N identification of every face in a photo (POST /api/v1/identify). */
export const IDENTIFY_JOB = 'identify' as const;

export const IdentifyJobData = z.object({
  image: z.string(),
  /** Absent = search every group. */
  group: z.string().optional(),
  top_k: z.number().int().positive(),
  threshold: z.number().nonnegative(),
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

export interface IdentifyJobResult {
  faces: IdentifiedFace[];
  faces_detected: number;
  model: string;
  threshold: number;
  gallery_size: number;
  processing_ms: number;
}
