import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ServiceError } from './errors.js';
import { OpenSetModel } from './open-set.js';

const ModelEntry = z.object({
  file: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  input: z.object({ name: z.string(), shape: z.array(z.number()) }).passthrough(),
  outputs: z.record(z.string(), z.object({ shape: z.array(z.number()) }).passthrough()),
});

const Manifest = z.object({
  source: z.object({ package: z.string(), version: z.string() }).passthrough(),
  models: z.object({ detect: ModelEntry, landmark: ModelEntry, feature: ModelEntry }),
  embedding_model_id: z.string(),
  embedding_dim: z.number().int().positive(),
  /** The embedder's measured distance distributions (open-set thresholds); part of the pack. */
  distances: z.object({ file: z.string() }).passthrough(),
});

export type ModelManifest = z.infer<typeof Manifest>;
export type ModelName = keyof ModelManifest['models'];

export function loadManifest(modelsDir: string): ModelManifest {
  return Manifest.parse(JSON.parse(readFileSync(join(modelsDir, 'manifest.json'), 'utf8')));
}

/** The open-set threshold model of the pack's embedder. */
export function loadOpenSet(modelsDir: string, manifest: ModelManifest): OpenSetModel {
  return OpenSetModel.load(modelsDir, manifest.distances.file);
}

export function modelPath(modelsDir: string, manifest: ModelManifest, name: ModelName): string {
  return join(modelsDir, manifest.models[name].file);
}

/**
 * Checks every model file against the manifest's sha256. A missing or altered file is an
 * error naming it: a silently different model would produce embeddings that look valid but
 * match nothing enrolled before.
 */
export function verifyModels(modelsDir: string): ModelManifest {
  const manifest = loadManifest(modelsDir);
  for (const [name, entry] of Object.entries(manifest.models)) {
    const path = join(modelsDir, entry.file);
    if (!existsSync(path)) {
      throw new ServiceError(
        'MODEL_INTEGRITY',
        `model ${name}: ${path} is missing (run \`npm run models\`)`,
        {
          file: entry.file,
        },
      );
    }
    const got = createHash('sha256').update(readFileSync(path)).digest('hex');
    if (got !== entry.sha256) {
      throw new ServiceError(
        'MODEL_INTEGRITY',
        `model ${name}: ${entry.file} has sha256 ${got}, the manifest expects ${entry.sha256}`,
        { file: entry.file },
      );
    }
  }
  return manifest;
}
