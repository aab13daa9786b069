import type { InferenceSession } from 'onnxruntime-node';
import type { Point } from '../../shared/face-types.js';
import type { ModelManifest, ModelName } from '../../shared/model-manifest.js';
import type { Pyramid } from './image.js';
import type { ScoredBox } from './nms.js';

/** How the detector looks at a photo (from the configuration, not the pack). */
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

/** Finds faces: boxes in full-resolution pixels with a score, after NMS. */
export interface Detector {
  detect(pyramid: Pyramid, options: DetectOptions): Promise<ScoredBox[]>;
}

/**
 * The face as the embedder will see it: `size` x `size` pixels, interleaved RGB, 0-255 and not
 * rounded (Float64: the embedder's normalisation of these values is bit-identical to the
 * former fused warp-and-normalise), and its grey version (BT.601) for the sharpness measure.
 */
export interface AlignedFace {
  size: number;
  rgb: Float64Array;
  gray: Float32Array;
}

/** Turns a detected box into the aligned crop: its landmarks (the 5 reported points) and the warp. */
export interface Aligner {
  /** left eye, right eye, nose, mouth left, mouth right, in full-resolution pixels. */
  landmarks(pyramid: Pyramid, box: ScoredBox): Promise<Point[]>;
  align(pyramid: Pyramid, landmarks: readonly Point[]): AlignedFace;
}

/** Aligned crop -> L2-normalised embedding of `dim` values. */
export interface Embedder {
  readonly dim: number;
  embed(face: AlignedFace): Promise<Float32Array>;
}

/** A model pack: its manifest (read once, validated) and the three seams built from it. */
export interface ModelPack {
  manifest: ModelManifest;
  detector: Detector;
  aligner: Aligner;
  embedder: Embedder;
}

/**
 * A pack's code (src/worker/pipeline/packs/<pack>/): builds its seams from its validated
 * manifest and one ONNX session per model file.
 */
export type PackFactory = (
  manifest: ModelManifest,
  sessions: Record<ModelName, InferenceSession>,
) => ModelPack;
