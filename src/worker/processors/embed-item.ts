import { ServiceError } from '../../shared/errors.js';
import type { EmbedItemData, ItemJobResult } from '../../shared/jobs/index.js';
import { readPhoto, runItem } from '../batch-item.js';
import { analyseOptions } from './analyse-options.js';
import type { ProcessorDeps } from './types.js';

/** One photo of a batch embed job: the same result /api/v1/embed gives, kept in the store. */
export async function processEmbedItem(data: EmbedItemData, deps: ProcessorDeps): Promise<ItemJobResult> {
  return runItem(deps, { ...data, photos: [data.photo] }, async () => {
    const bytes = await readPhoto(deps, data.photo);
    const select = data.face === 'center' ? 'center' : 'largest';
    const result = await deps.pool.analyse(bytes, analyseOptions(deps.config, select), true);
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
      outcome: 'EMBEDDED',
      ok: true,
      detail: {
        embedding: Array.from(face.embedding),
        detection_score: face.detection_score,
        bbox: face.bbox,
        landmarks: face.landmarks,
        faces_detected: result.faces_detected,
        model: deps.manifest.embedding_model_id,
        quality: face.quality,
      },
    };
  });
}
