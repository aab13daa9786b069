import { ServiceError } from '../../shared/errors.js';
import type { EmbedResponse } from '../../shared/schemas.js';
import { dominantFace } from '../dominant-face.js';
import { multipleFaces } from '../enrollment-gates.js';
import { analyseOptions } from './analyse-options.js';
import type { ProcessorDeps } from './types.js';

/**
 * The face of a single-face request: the largest (or the one nearest the centre); under the
 * `error` policy the largest only if it is clearly the subject, else MULTIPLE_FACES. Shared by
 * the sync embed and the batch embed item.
 */
export async function embedOne(
  bytes: Uint8Array,
  policy: 'largest' | 'center' | 'error',
  deps: ProcessorDeps,
): Promise<Omit<EmbedResponse, 'processing_ms'>> {
  const select = policy === 'center' ? 'center' : 'largest';
  const result = await deps.pool.analyse(bytes, analyseOptions(deps.config, select), {
    handOver: 'transfer',
  });
  deps.metrics?.observeStages(result.timings);
  const face = result.faces[0];
  if (!face)
    throw new ServiceError('NO_FACE_DETECTED', 'no face was detected in the image', { faces_detected: 0 });
  // `error`: the enrollment rule (dominant-face.ts), so a clear subject with bystanders passes.
  const dominance = policy === 'error' ? dominantFace(result) : undefined;
  if (dominance && !dominance.ok) throw multipleFaces(result.faces_detected, dominance.reason);
  return {
    embedding: Array.from(face.embedding),
    detection_score: face.detection_score,
    bbox: face.bbox,
    landmarks: face.landmarks,
    faces_detected: result.faces_detected,
    model: deps.manifest.embedding_model_id,
    quality: face.quality,
    ...(dominance?.ok && dominance.other_faces_ignored
      ? { other_faces_ignored: dominance.other_faces_ignored }
      : {}),
  };
}
