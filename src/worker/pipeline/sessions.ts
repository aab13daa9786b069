import { InferenceSession } from 'onnxruntime-node';
import { modelPath, verifyModels, type ModelManifest } from '../../shared/model-manifest.js';

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

export async function loadSessions(modelsDir: string): Promise<ModelSessions> {
  const manifest = verifyModels(modelsDir);
  const [detect, landmark, feature] = await Promise.all(
    (['detect', 'landmark', 'feature'] as const).map((m) =>
      InferenceSession.create(modelPath(modelsDir, manifest, m), OPTIONS),
    ),
  );
  if (!detect || !landmark || !feature) throw new Error('model sessions failed to load');
  return { manifest, detect, landmark, feature };
}
