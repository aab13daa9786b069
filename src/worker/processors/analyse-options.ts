import type { Config } from '../../shared/config.js';
import type { FaceSelection } from '../../shared/face-types.js';
import type { AnalyseOptions } from '../pipeline/face-pipeline.js';

/** One frozen object per configuration and choice, built on first use rather than per task. */
const built = new WeakMap<Config, Map<string, Readonly<AnalyseOptions>>>();

/** The pipeline's options for `select` under this configuration's decode and detection limits. */
export function analyseOptions(
  config: Config,
  select: FaceSelection,
  { thumbnails = false }: { thumbnails?: boolean } = {},
): Readonly<AnalyseOptions> {
  let forConfig = built.get(config);
  if (!forConfig) built.set(config, (forConfig = new Map<string, Readonly<AnalyseOptions>>()));
  const key = `${select}:${thumbnails}`;
  let options = forConfig.get(key);
  if (!options) {
    options = Object.freeze({
      maxPixels: config.maxImagePixels,
      maxSide: config.maxDecodeSide,
      tiling: config.tiling,
      select,
      ...(thumbnails ? { thumbnails } : {}),
    });
    forConfig.set(key, options);
  }
  return options;
}
