import { InferenceSession } from 'onnxruntime-node';
import { ServiceError } from '../../shared/errors.js';
import { modelPath, verifyModels, type ModelManifest, type ModelName } from '../../shared/model-manifest.js';
import { PACKS } from './packs/registry.js';
import type { ModelPack } from './seams.js';

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

/** A pack with its ONNX sessions, which `release` frees. */
export type LoadedPack = ModelPack & { release(): Promise<void> };

const MODELS: readonly ModelName[] = ['detect', 'landmark', 'feature'];

/**
 * The model pack in `modelsDir`: its manifest, one session per model file, and the pack's code
 * (named by the manifest's `pack`) built on them. Input and output names the manifest gives
 * must be the graph's: a manifest that does not describe its files stops start-up here.
 *
 * @param verified the manifest verifyModels returned: pool threads get the pool's, which
 *   checked the files once before starting any thread; without it the files are hashed here.
 */
export async function loadPack(modelsDir: string, verified?: ModelManifest): Promise<LoadedPack> {
  const manifest = verified ?? verifyModels(modelsDir);
  const factory = PACKS[manifest.pack];
  if (!factory)
    throw new ServiceError(
      'MODEL_INTEGRITY',
      `the manifest names pack ${manifest.pack}; this build has ${Object.keys(PACKS).join(', ')}`,
      { file: 'manifest.json' },
    );
  const created = await Promise.all(
    MODELS.map((m) => InferenceSession.create(modelPath(modelsDir, manifest, m), OPTIONS)),
  );
  const sessions = Object.fromEntries(MODELS.map((m, i) => [m, created[i]])) as Record<
    ModelName,
    InferenceSession
  >;
  for (const m of MODELS) {
    const entry = manifest.models[m];
    const session = sessions[m];
    const missing = [
      ...[entry.input.name].filter((n) => !session.inputNames.includes(n)),
      ...Object.keys(entry.outputs).filter((n) => !session.outputNames.includes(n)),
    ];
    if (missing.length > 0)
      throw new ServiceError(
        'MODEL_INTEGRITY',
        `model ${m}: ${entry.file} has no tensor ${missing.join(', ')} (it has inputs ${session.inputNames.join(', ')}, outputs ${session.outputNames.join(', ')})`,
        { file: entry.file },
      );
  }
  const release = async () => {
    await Promise.all(MODELS.map((m) => sessions[m].release()));
  };
  return { ...factory(manifest, sessions), release };
}
