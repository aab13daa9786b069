import { performance } from 'node:perf_hooks';
import { decodeBase64Image } from '../../shared/image-input.js';
import type { IdentifiedFace, IdentifyJobData, IdentifyJobResult } from '../../shared/jobs/index.js';
import { decisionFor } from '../../shared/decision.js';
import { analyseOptions } from './analyse-options.js';
import type { ProcessorDeps } from './types.js';

const round4 = (v: number) => Math.round(v * 10000) / 10000;

/** Every face in the photo, each with its nearest enrolled users. No face is not an error here. */
export async function processIdentify(
  data: IdentifyJobData,
  deps: ProcessorDeps,
): Promise<IdentifyJobResult> {
  const started = performance.now();
  const result = await deps.pool.analyse(decodeBase64Image(data.image), analyseOptions(deps.config, 'all'), {
    handOver: 'transfer',
  });
  deps.metrics?.observeStages(result.timings);
  const gallery = await deps.gallery.fresh();
  const decision = decisionFor(deps, 'identify', gallery.sizeOf(data.group), data.threshold);
  const faces: IdentifiedFace[] = [];
  for (const face of result.faces) {
    const candidates = await gallery.search(face.embedding, {
      topK: data.top_k,
      ...(data.group !== undefined ? { group: data.group } : {}),
    });
    faces.push({
      bbox: face.bbox,
      detection_score: face.detection_score,
      landmarks: face.landmarks,
      quality: face.quality,
      candidates: candidates.map((c) => ({
        user_id: c.user_id,
        name: c.name,
        distance: round4(c.distance),
        similarity: round4(c.similarity),
      })),
      is_match: candidates[0] !== undefined && candidates[0].distance <= decision.threshold,
    });
  }
  return {
    faces,
    faces_detected: result.faces_detected,
    model: deps.manifest.embedding_model_id,
    threshold: decision.threshold,
    decision,
    gallery_size: gallery.size,
    processing_ms: Math.round((performance.now() - started) * 10) / 10,
  };
}
