/** What the pipeline reports for one face; shared because the API serialises it. */
export interface BoundingBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

export type Point = [number, number];

export interface FaceQuality {
  /** Face box height in original-image pixels. */
  face_size: number;
  /** Variance of the Laplacian of the aligned 112x112 grey crop: low = blurry. */
  sharpness: number;
}

export interface DetectedFace {
  bbox: BoundingBox;
  detection_score: number;
  /** left eye, right eye, nose, mouth left, mouth right, in original-image pixels. */
  landmarks: Point[];
  quality: FaceQuality;
  /** L2-normalised, the pack's embedding_dim floats (512 for the shipped pack). */
  embedding: Float32Array;
  /** JPEG of the aligned 112x112 crop, when asked for. */
  thumbnail?: Uint8Array;
}

export type FaceSelection = 'largest' | 'center' | 'all';

export interface StageTimings {
  decode: number;
  detect: number;
  landmarks: number;
  align: number;
  embed: number;
}

export interface AnalysisResult {
  width: number;
  height: number;
  /** Faces found before any selection. */
  faces_detected: number;
  /** Every detected face's box and score, largest first (cheap: no embedding). */
  detections: { bbox: BoundingBox; detection_score: number }[];
  faces: DetectedFace[];
  timings: StageTimings;
}
