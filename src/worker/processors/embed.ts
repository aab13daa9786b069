import { performance } from 'node:perf_hooks';
import { decodeBase64Image } from '../../shared/image-input.js';
import type { EmbedJobData, EmbedJobResult } from '../../shared/jobs/index.js';
import { embedOne } from './embed-one.js';
import type { ProcessorDeps } from './types.js';

/** One photo -> the embedding of one face, in the shape POST /api/v1/embed answers. */
export async function processEmbed(data: EmbedJobData, deps: ProcessorDeps): Promise<EmbedJobResult> {
  const started = performance.now();
  const face = await embedOne(decodeBase64Image(data.image), data.face, deps);
  return { ...face, processing_ms: Math.round((performance.now() - started) * 10) / 10 };
}
