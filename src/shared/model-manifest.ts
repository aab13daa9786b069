import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ServiceError } from './errors.js';
import { OpenSetModel } from './open-set.js';
import { thresholdTable } from './thresholds.js';

/**
 * What a model's input tensor is: the preprocessing every pack's code reads instead of
 * repeating it. Value fed = (p - mean) / std, p the 0-255 sample in `colour_order`
 * (GRAY_BT601 = 0.299 R + 0.587 G + 0.114 B).
 */
const ModelInput = z
  .object({
    name: z.string(),
    shape: z.array(z.number().int().positive()).length(4),
    layout: z.literal('NCHW'),
    colour_order: z.enum(['RGB', 'BGR', 'GRAY_BT601']),
    mean: z.number(),
    std: z.number().positive(),
  })
  .passthrough()
  .refine((i) => i.shape[1] === (i.colour_order === 'GRAY_BT601' ? 1 : 3), {
    message: 'shape[1] must be the channels of colour_order',
  });

const ModelEntry = z
  .object({
    file: z.string(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    input: ModelInput,
    outputs: z.record(z.string(), z.object({ shape: z.array(z.number()) }).passthrough()),
  })
  .passthrough();

const Levels = z.object({
  high_security: z.number().positive(),
  balanced: z.number().positive(),
  convenience: z.number().positive(),
});

const Manifest = z
  .object({
    source: z.object({ package: z.string(), version: z.string() }).passthrough(),
    /** Which code runs these files (src/worker/packs/<pack>/): its Detector, Aligner, Embedder. */
    pack: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
    models: z.object({ detect: ModelEntry, landmark: ModelEntry, feature: ModelEntry }),
    /** Every template and embedding carries it; only templates of the active id are compared. */
    embedding_model_id: z.string().min(1),
    embedding_dim: z.number().int().positive(),
    /** Per-comparison cosine-distance thresholds measured for this embedder. */
    thresholds: z.object({ cosine: Levels }).passthrough(),
    /** The 1:N index's int8 copy: q = round(v * 127 / int8_range), clamped to +-127. */
    quantisation: z.object({ int8_range: z.number().positive() }).passthrough(),
    /** The embedder's measured distance distributions (open-set thresholds); part of the pack. */
    distances: z.object({ file: z.string() }).passthrough(),
  })
  .superRefine((m, ctx) => {
    const out = Object.values(m.models.feature.outputs)[0]?.shape;
    if (out?.[out.length - 1] !== m.embedding_dim)
      ctx.addIssue({
        code: 'custom',
        path: ['embedding_dim'],
        message: `the feature model's output is ${String(out)}, not ${m.embedding_dim} values`,
      });
  });

export type ModelManifest = z.infer<typeof Manifest>;
export type ModelName = keyof ModelManifest['models'];
export type ModelInputSpec = z.infer<typeof ModelInput>;

/**
 * Reads and validates `<modelsDir>/manifest.json` (a bad one is MODEL_INTEGRITY naming the
 * field). Each process reads it once at start-up and hands the object on.
 */
export function loadManifest(modelsDir: string): ModelManifest {
  const path = join(modelsDir, 'manifest.json');
  const parsed = Manifest.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ServiceError(
      'MODEL_INTEGRITY',
      `${path}: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid manifest'}`,
      { file: 'manifest.json' },
    );
  }
  return parsed.data;
}

/** The pack's embedder measured: open-set (1:N) thresholds and its published 1:1 thresholds. */
export function loadOpenSet(modelsDir: string, manifest: ModelManifest): OpenSetModel {
  return OpenSetModel.load(modelsDir, manifest.distances.file, thresholdTable(manifest.thresholds.cosine));
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
