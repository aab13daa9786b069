import type { Config } from '../shared/config.js';
import { ServiceError } from '../shared/errors.js';
import type { AnalysisResult, DetectedFace } from '../shared/face-types.js';
import { dominantFace } from './dominant-face.js';

/**
 * The enrollment face of a photo (its largest face, which must be clearly the subject: see
 * dominant-face.ts) and how many other faces were ignored, or the reason it cannot be one.
 */
export function enrollmentFace(
  result: AnalysisResult,
  quality: Config['quality'],
): { face: DetectedFace; other_faces_ignored: number } {
  const face = result.faces[0];
  if (!face)
    throw new ServiceError('NO_FACE_DETECTED', 'no face was detected in the photo', { faces_detected: 0 });
  const dominance = dominantFace(result);
  if (!dominance.ok) throw multipleFaces(result.faces_detected, dominance.reason);
  const gate = (name: string, value: number, min: number) =>
    new ServiceError('LOW_QUALITY', `${name}: ${value} is below the minimum ${min}`, {
      gate: name,
      value,
      min,
    });
  if (face.quality.face_size < quality.minFaceSize)
    throw gate('face_too_small', face.quality.face_size, quality.minFaceSize);
  if (face.quality.sharpness < quality.minSharpness)
    throw gate('too_blurry', face.quality.sharpness, quality.minSharpness);
  if (face.detection_score < quality.minDetectionScore) {
    throw gate('low_detection_score', face.detection_score, quality.minDetectionScore);
  }
  return { face, other_faces_ignored: dominance.other_faces_ignored };
}

/** MULTIPLE_FACES, saying why no face is clearly the subject. */
export function multipleFaces(
  facesDetected: number,
  reason: 'largest_not_central' | 'similar_size',
): ServiceError {
  const why =
    reason === 'largest_not_central'
      ? 'the largest is not in the middle of the photo'
      : 'another face is of similar size';
  return new ServiceError(
    'MULTIPLE_FACES',
    `${facesDetected} faces and ${why}; a photo of one person is needed`,
    {
      faces_detected: facesDetected,
      reason,
    },
  );
}
