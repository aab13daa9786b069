import type { Config } from '../shared/config.js';
import { ServiceError } from '../shared/errors.js';
import type { AnalysisResult, DetectedFace } from '../shared/face-types.js';

/**
 * A second face counts as "another person in the photo" only if it is at least this share of the
 * main face's height; smaller ones are bystanders in the background, common in real photos.
 */
const SECOND_FACE_RATIO = 0.5;

/** The enrollment face of a photo, or the reason it cannot be one. */
export function enrollmentFace(result: AnalysisResult, quality: Config['quality']): DetectedFace {
  const face = result.faces[0];
  if (!face)
    throw new ServiceError('NO_FACE_DETECTED', 'no face was detected in the photo', { faces_detected: 0 });
  const second = result.detections[1];
  if (second && second.bbox.height >= SECOND_FACE_RATIO * face.bbox.height) {
    throw new ServiceError(
      'MULTIPLE_FACES',
      `${result.faces_detected} faces of similar size; an enrollment photo needs one`,
      {
        faces_detected: result.faces_detected,
      },
    );
  }
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
  return face;
}
