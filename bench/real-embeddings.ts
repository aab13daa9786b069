/**
 * Embeddings of every photo in an LFW-style folder (<person>/<photo>.jpg), through the production
 * pipeline, cached in ~/.cache/shelia/<folder>-<model>.json so a rerun of bench:identify --real
 * takes a second instead of a minute (2,387 lfw-dev photos, ~45 s on 2 busy cores).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { InferencePool } from '../src/worker/inference/pool.js';

export interface RealFace {
  person: string;
  photo: string;
  embedding: Float32Array;
}

export async function realEmbeddings(dir: string, threads = 2): Promise<RealFace[]> {
  const modelsDir = process.env.MODELS_DIR ?? resolve(import.meta.dirname, '..', '..', 'models');
  const pool = new InferencePool({ modelsDir, size: threads });
  const model = pool.manifest.embedding_model_id.replace(/[^\w.-]+/g, '_');
  const cacheDir = join(homedir(), '.cache', 'shelia');
  const cache = join(cacheDir, `${basename(resolve(dir))}-${model}.json`);
  if (existsSync(cache)) {
    await pool.close();
    const rows = JSON.parse(readFileSync(cache, 'utf8')) as { person: string; photo: string; e: number[] }[];
    return rows.map((r) => ({ person: r.person, photo: r.photo, embedding: Float32Array.from(r.e) }));
  }
  const photos = readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) =>
      readdirSync(join(dir, d.name))
        .filter((f) => /\.(jpe?g|png)$/i.test(f))
        .map((f) => ({ person: d.name, photo: `${d.name}/${f}` })),
    )
    .sort((a, b) => a.photo.localeCompare(b.photo));
  const options = { maxPixels: 25_000_000, maxSide: 1920, tiling: 'auto', select: 'largest' } as const;
  const out: RealFace[] = [];
  let next = 0;
  const drain = async () => {
    while (next < photos.length) {
      const p = photos[next++] as (typeof photos)[number];
      const result = await pool.analyse(readFileSync(join(dir, p.photo)), options);
      const face = result.faces[0];
      if (face) out.push({ ...p, embedding: face.embedding });
    }
  };
  await Promise.all(Array.from({ length: threads * 2 }, drain));
  await pool.close();
  out.sort((a, b) => a.photo.localeCompare(b.photo));
  mkdirSync(cacheDir, { recursive: true });
  const tmp = `${cache}.${process.pid}.tmp`;
  writeFileSync(
    tmp,
    JSON.stringify(out.map((f) => ({ person: f.person, photo: f.photo, e: Array.from(f.embedding) }))),
  );
  renameSync(tmp, cache);
  return out;
}
