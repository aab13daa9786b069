import { ServiceError } from '../../shared/errors.js';
import type { EmbedResponse } from '../../shared/schemas.js';
import { analyseOptions } from './analyse-options.js';
import type { ProcessorDeps } from './types.js';

/**
 * The face of a single-face request: the largest (or the one nearest the centre), or
 * MULTIPLE_FACES under the `error` policy. Shared by the sync embed and the batch embed item.
 */
export async function embedOne(
  bytes: Uint8Array,
  policy: 'largest' | 'center' | 'error',
  deps: ProcessorDeps,
): Promise<Omit<EmbedResponse, 'processing_ms'>> {
  const select = policy === 'center' ? 'center' : 'largest';
  const result = await deps.pool.analyse(bytes, analyseOptions(deps.config, select), true);
  deps.metrics?.observeStages(result.timings);
  const face = result.faces[0];
  if (!face)
    throw new ServiceError('NO_FACE_DETECTED', 'no face was detected in the image', { faces_detected: 0 });
  if (policy === 'error' && result.faces_detected > 1) {
    throw new ServiceError('MULTIPLE_FACES', `${result.faces_detected} faces were detected; expected one`, {
      faces_detected: result.faces_detected,
    });
  }
  return {
    embedding: Array.from(face.embedding),
    detection_score: face.detection_score,
    bbox: face.bbox,
    landmarks: face.landmarks,
    faces_detected: result.faces_detected,
    model: deps.manifest.embedding_model_id,
    quality: face.quality,
  };
}
