import { performance } from 'node:perf_hooks';
import type {
  AnalysisResult,
  BoundingBox,
  DetectedFace,
  FaceSelection,
  StageTimings,
} from '../../shared/face-types.js';
import { decodeImage, type DecodeLimits } from './decode.js';
import { alignedJpeg } from './embedder.js';
import { Pyramid } from './image.js';
import type { ScoredBox } from './nms.js';
import { laplacianVariance } from './quality.js';
import type { DetectOptions, ModelPack } from './seams.js';

export interface AnalyseOptions extends DecodeLimits, DetectOptions {
  /** Which faces get landmarks and embeddings; all faces are counted either way. */
  select: FaceSelection;
  /** Also return a JPEG of each aligned face (attendance records keep it). */
  thumbnails?: boolean;
}

/** photo bytes -> decode -> detect -> landmarks -> align -> embed, per face, with the pack's seams. */
export async function analyse(
  pack: ModelPack,
  bytes: Uint8Array,
  options: AnalyseOptions,
): Promise<AnalysisResult> {
  const timings: StageTimings = { decode: 0, detect: 0, landmarks: 0, align: 0, embed: 0 };
  const lap = <T>(stage: keyof StageTimings, t0: number, value: T): T => {
    timings[stage] += performance.now() - t0;
    return value;
  };

  // Everything runs on the full-resolution image, in its pixels (what is reported): detection
  // looks at it as if shrunk to maxSide; landmarks and alignment sample the face at full detail.
  let t = performance.now();
  const image = lap('decode', t, await decodeImage(bytes, options));
  const pyramid = new Pyramid(image);
  t = performance.now();
  const boxes = lap('detect', t, await pack.detector.detect(pyramid, options));
  const chosen = selectFaces(boxes, options.select, image.width, image.height);

  const faces: DetectedFace[] = [];
  for (const box of chosen) {
    t = performance.now();
    const landmarks = lap('landmarks', t, await pack.aligner.landmarks(pyramid, box));
    t = performance.now();
    const aligned = lap('align', t, pack.aligner.align(pyramid, landmarks));
    const sharpness = laplacianVariance(aligned.gray, aligned.size);
    t = performance.now();
    const embedding = lap('embed', t, await pack.embedder.embed(aligned));
    const face = toReported(box, landmarks, sharpness, embedding);
    if (options.thumbnails) face.thumbnail = await alignedJpeg(aligned);
    faces.push(face);
  }
  return {
    width: image.width,
    height: image.height,
    faces_detected: boxes.length,
    detections: selectFaces(boxes, 'all', 0, 0).map((b) => ({
      bbox: toBox(b),
      detection_score: round4(b.score),
    })),
    faces,
    timings,
  };
}

/** Largest face by default; `center` = nearest the image centre; `all` = every face, largest first. */
export function selectFaces(
  boxes: ScoredBox[],
  select: FaceSelection,
  width: number,
  height: number,
): ScoredBox[] {
  const area = (b: ScoredBox) => (b.x2 - b.x1) * (b.y2 - b.y1);
  const byArea = [...boxes].sort((a, b) => area(b) - area(a));
  switch (select) {
    case 'all':
      return byArea;
    case 'largest':
      return byArea.slice(0, 1);
    case 'center': {
      const d = (b: ScoredBox) => Math.hypot((b.x1 + b.x2) / 2 - width / 2, (b.y1 + b.y2) / 2 - height / 2);
      return [...boxes].sort((a, b) => d(a) - d(b)).slice(0, 1);
    }
  }
}

const round2 = (v: number) => Math.round(v * 100) / 100;
const round4 = (v: number) => Math.round(v * 10000) / 10000;

function toBox(b: ScoredBox): BoundingBox {
  return { x: round2(b.x1), y: round2(b.y1), width: round2(b.x2 - b.x1), height: round2(b.y2 - b.y1) };
}

/**
 * Boxes and landmarks are already in original pixels, so face_size is what MIN_FACE_SIZE means;
 * sharpness comes from the full-resolution face (a 58 px face of a 4K frame read 13 when it was
 * aligned from the frame shrunk to 1920, under MIN_SHARPNESS 15; 54 in 1080p).
 */
function toReported(
  box: ScoredBox,
  landmarks: [number, number][],
  sharpness: number,
  embedding: Float32Array,
): DetectedFace {
  return {
    bbox: toBox(box),
    detection_score: round4(box.score),
    landmarks: landmarks.map(([x, y]) => [round2(x), round2(y)]),
    quality: { face_size: Math.round(box.y2 - box.y1), sharpness: round2(sharpness) },
    embedding,
  };
}
