import type { Config } from '../../shared/config.js';
import type { FaceSelection } from '../../shared/face-types.js';
import type { AnalyseOptions } from '../pipeline/face-pipeline.js';

export function analyseOptions(config: Config, select: FaceSelection): AnalyseOptions {
  return { maxPixels: config.maxImagePixels, maxSide: config.maxDecodeSide, tiling: config.tiling, select };
}
