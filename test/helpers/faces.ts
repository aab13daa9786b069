/**
 * Test fixtures for the face pipeline: where the repo, the models and the LFW photos are, and
 * synthetic frames built from those photos. Photos are read from the shared directory (never
 * copied into the repo); set SHELIA_FACES_DIR to point elsewhere.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { AnalyseOptions } from '../../src/worker/pipeline/face-pipeline.js';
import { mulberry32Uint } from '../../src/shared/prng.js';

function findRepoRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'src'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no repo root above ${from}`);
  }
}

/** The repository root, found from this file whether it runs from test/ or dist/test/. */
export const repoRoot = findRepoRoot(dirname(fileURLToPath(import.meta.url)));
export const modelsDir = join(repoRoot, 'models');
export const facesDir = process.env.SHELIA_FACES_DIR ?? resolve(repoRoot, '..', 'shared', 'faces');
export const lfwDir = join(facesDir, 'lfw-dev');

export const defaultOptions: AnalyseOptions = {
  maxPixels: 25_000_000,
  maxSide: 1920,
  tiling: 'auto',
  select: 'largest',
};

export function photoPath(name: string, n: number): string {
  return join(lfwDir, name, `${name}_${String(n).padStart(4, '0')}.jpg`);
}

/** The bytes of `<name>_000n.jpg` (n is 1-based, as in pairs.txt). */
export function photo(name: string, n: number): Buffer {
  return readFileSync(photoPath(name, n));
}

export interface Identity {
  name: string;
  photos: number;
}

let cached: Identity[] | undefined;

/** Every identity in lfw-dev with at least `min` photos, sorted by name (deterministic). */
export function identities(min = 2): Identity[] {
  cached ??= readdirSync(lfwDir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => ({
      name: d.name,
      photos: readdirSync(join(lfwDir, d.name)).filter((f) => f.endsWith('.jpg')).length,
    }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return cached.filter((i) => i.photos >= min);
}

export interface PastedFace {
  name: string;
  n: number;
  /** Top-left corner of the pasted (resized) photo in the frame. */
  left: number;
  top: number;
  /** Side of the pasted photo; 125 makes the face about 60 px tall. */
  side: number;
}

export interface CompositeOptions {
  width: number;
  height: number;
  background?: 'grey' | 'noise';
  faces: PastedFace[];
}

/** Deterministic noise (mulberry32) so a frame is byte-identical on every run. */
function noise(width: number, height: number, seed: number): Buffer {
  const out = Buffer.alloc(width * height * 3);
  const next = mulberry32Uint(seed);
  for (let i = 0; i < out.length; i += 3) {
    const v = 96 + ((next() % 64) | 0);
    out[i] = v;
    out[i + 1] = v;
    out[i + 2] = v;
  }
  return out;
}

/** A width x height JPEG with the given LFW photos resized and pasted on a grey/noise background. */
export async function composite(options: CompositeOptions): Promise<Buffer> {
  const { width, height, faces } = options;
  const base =
    options.background === 'noise'
      ? sharp(noise(width, height, 12345), { raw: { width, height, channels: 3 } })
      : sharp({ create: { width, height, channels: 3, background: { r: 128, g: 128, b: 128 } } });
  const layers = await Promise.all(
    faces.map(async (f) => ({
      input: await sharp(photo(f.name, f.n)).resize(f.side, f.side).toBuffer(),
      left: f.left,
      top: f.top,
    })),
  );
  return base.composite(layers).jpeg({ quality: 92 }).toBuffer();
}

/** Where the face of a pasted photo should be: the centre of the pasted square. */
export function pastedCentre(f: PastedFace): [number, number] {
  return [f.left + f.side / 2, f.top + f.side / 2];
}
