import { performance } from 'node:perf_hooks';
import { ServiceError } from '../../shared/errors.js';
import { decodeBase64Image } from '../../shared/image-input.js';
import type { EmbedJobData, EmbedJobResult } from '../../shared/jobs/index.js';
import { analyseOptions } from './analyse-options.js';
import type { ProcessorDeps } from './types.js';

/** One photo -> the embedding of one face, in the shape POST /api/v1/embed answers. */
export async function processEmbed(data: EmbedJobData, deps: ProcessorDeps): Promise<EmbedJobResult> {
  const started = performance.now();
  const { config } = deps;
  const bytes = decodeBase64Image(data.image);
  const result = await deps.pool.analyse(
    bytes,
    analyseOptions(config, data.face === 'center' ? 'center' : 'largest'),
    true,
  );
  deps.metrics?.observeStages(result.timings);
  const face = result.faces[0];
  if (!face)
    throw new ServiceError('NO_FACE_DETECTED', 'no face was detected in the image', { faces_detected: 0 });
  if (data.face === 'error' && result.faces_detected > 1) {
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
    processing_ms: Math.round((performance.now() - started) * 10) / 10,
  };
}
