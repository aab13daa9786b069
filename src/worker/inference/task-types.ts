import type { AnalysisResult } from '../../shared/face-types.js';
import type { ModelManifest } from '../../shared/model-manifest.js';
import type { AnalyseOptions } from '../pipeline/face-pipeline.js';

export interface AnalyseTask {
  bytes: Uint8Array;
  options: AnalyseOptions;
}

/** Expected failures (bad input) come back as values: a thrown Error loses its code crossing threads. */
export type AnalyseOutcome = { ok: true; result: AnalysisResult } | { ok: false; error: string };

export interface PoolWorkerData {
  modelsDir: string;
  /** The manifest the pool read and verified once: threads do not read it again. */
  manifest: ModelManifest;
}
