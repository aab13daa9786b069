import { InferenceSession } from 'onnxruntime-node';
import { loadManifest, modelPath, verifyModels, type ModelManifest } from '../../shared/model-manifest.js';

export interface ModelSessions {
  manifest: ModelManifest;
  detect: InferenceSession;
  landmark: InferenceSession;
  feature: InferenceSession;
}

/**
 * One session per model per thread, one intra-op thread each: the models are small, so
 * parallelism comes from running several pool threads, not from splitting one inference.
 */
const OPTIONS: InferenceSession.SessionOptions = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
};

/**
 * @param verify hash the files first; pool threads pass false because the pool verified them
 *   once before starting any thread.
 */
export async function loadSessions(modelsDir: string, verify = true): Promise<ModelSessions> {
  const manifest = verify ? verifyModels(modelsDir) : loadManifest(modelsDir);
  const [detect, landmark, feature] = await Promise.all(
    (['detect', 'landmark', 'feature'] as const).map((m) =>
      InferenceSession.create(modelPath(modelsDir, manifest, m), OPTIONS),
    ),
  );
  if (!detect || !landmark || !feature) throw new Error('model sessions failed to load');
  return { manifest, detect, landmark, feature };
}
