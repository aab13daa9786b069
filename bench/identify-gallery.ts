/**
 * The gallery bench:identify searches: real lfw-dev embeddings (one enrolled photo per enrolled
 * identity; the other photos and every photo of held-out identities are the queries) padded to
 * N templates with synthetic look-alikes made as in openset-synthetic.ts: normalise(a + b) of two
 * enrolled embeddings, and once the pairs run out (~320k for ~800 sources) normalise(a + b + c).
 *
 * 10M float vectors would be 20 GB, so a synthetic template is regenerated from its sources when
 * the exact lookup asks for it, and the exact float brute force uses its closed form:
 * q . normalise(a + b) = (q.a + q.b) / |a + b|, with |a + b| from the sources' Gram matrix —
 * O(1) per template, so the exact top-k over 10M takes ~0.1 s per query in JavaScript.
 */
import { dot, l2Normalize } from '../src/shared/face-math.js';
import { mulberry32 } from '../src/shared/prng.js';
import type { GalleryEntry } from '../src/shared/store/index.js';
import type { RealFace } from './real-embeddings.js';

export interface Query {
  embedding: Float32Array;
  /** Template index of the same person's enrolled photo, or -1 (never enrolled). */
  mate: number;
}

/** Deterministic UUID-shaped template id for template i (as the store's randomUUID ids). */
export const templateId = (i: number) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
export const indexOfTemplate = (id: string) => parseInt(id.slice(24), 16);

export class BenchGallery {
  readonly enrolled: Float32Array[] = [];
  readonly queries: Query[] = [];
  private readonly a: Uint16Array;
  private readonly b: Uint16Array;
  private readonly c: Uint16Array;
  private readonly inv: Float32Array;
  readonly pairs: number;

  constructor(
    faces: RealFace[],
    readonly size: number,
    readonly dim: number,
  ) {
    const people = [...new Set(faces.map((f) => f.person))].sort();
    // Every 5th identity is never enrolled: its photos are the non-mated queries.
    const heldOut = new Set(people.filter((_, i) => i % 5 === 4));
    const firstOf = new Map<string, number>();
    for (const f of faces) {
      if (heldOut.has(f.person)) {
        this.queries.push({ embedding: f.embedding, mate: -1 });
      } else if (!firstOf.has(f.person)) {
        firstOf.set(f.person, this.enrolled.length);
        this.enrolled.push(f.embedding);
      } else {
        this.queries.push({ embedding: f.embedding, mate: firstOf.get(f.person) as number });
      }
    }
    const s = this.enrolled.length;
    if (size < s) throw new Error(`--gallery must be at least ${s} (the enrolled real photos)`);
    const n = size - s;
    this.a = new Uint16Array(n);
    this.b = new Uint16Array(n);
    this.c = new Uint16Array(n).fill(65535);
    this.inv = new Float32Array(n);
    const gram = new Float64Array(s * s);
    for (let i = 0; i < s; i++)
      for (let j = 0; j < s; j++)
        gram[i * s + j] = dot(this.enrolled[i] as Float32Array, this.enrolled[j] as Float32Array);
    const rand = mulberry32(20261201);
    // Every pair once, in shuffled order, then random triples.
    const all: number[] = [];
    for (let i = 0; i < s && all.length < n; i++) for (let j = i + 1; j < s; j++) all.push(i * s + j);
    for (let i = all.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [all[i], all[j]] = [all[j] as number, all[i] as number];
    }
    this.pairs = Math.min(all.length, n);
    for (let k = 0; k < n; k++) {
      let x: number;
      let y: number;
      let z = 65535;
      if (k < this.pairs) {
        const p = all[k] as number;
        [x, y] = [Math.floor(p / s), p % s];
      } else {
        do {
          x = Math.floor(rand() * s);
          y = Math.floor(rand() * s);
          z = Math.floor(rand() * s);
        } while (x === y || y === z || x === z);
      }
      this.a[k] = x;
      this.b[k] = y;
      this.c[k] = z;
      const g = (i: number, j: number) => gram[i * s + j] as number;
      const norm2 = z === 65535 ? 2 + 2 * g(x, y) : 3 + 2 * (g(x, y) + g(x, z) + g(y, z));
      this.inv[k] = 1 / Math.sqrt(norm2);
    }
  }

  /** Template i's embedding (float32, unit length). */
  vector(i: number): Float32Array {
    const s = this.enrolled.length;
    if (i < s) return this.enrolled[i] as Float32Array;
    const k = i - s;
    const va = this.enrolled[this.a[k] as number] as Float32Array;
    const vb = this.enrolled[this.b[k] as number] as Float32Array;
    const c = this.c[k] as number;
    const vc = c === 65535 ? undefined : (this.enrolled[c] as Float32Array);
    const inv = this.inv[k] as number;
    const out = new Float32Array(this.dim);
    for (let d = 0; d < this.dim; d++)
      out[d] = ((va[d] as number) + (vb[d] as number) + (vc ? (vc[d] as number) : 0)) * inv;
    return out;
  }

  /** Templates start..end-1 as the store's gallery gives them to an index. */
  entries(start: number, end: number): GalleryEntry[] {
    const out: GalleryEntry[] = [];
    for (let i = start; i < end; i++)
      out.push({
        template_id: templateId(i),
        model: 'bench',
        user_id: `user-${i}`,
        name: `User ${i}`,
        group: null,
        embedding: this.vector(i),
      });
    return out;
  }

  /** The index's exact lookup (the store's `templateEmbeddings`), from the generated vectors. */
  readonly lookup = (ids: string[]) =>
    Promise.resolve(new Map(ids.map((id) => [id, this.vector(indexOfTemplate(id))])));

  /** The exact float top-k template indices and similarities (brute force over all N). */
  exactTop(q: Float32Array, k: number): { index: number[]; similarity: number[] } {
    const s = this.enrolled.length;
    const qs = new Float64Array(s);
    for (let i = 0; i < s; i++) qs[i] = dot(q, this.enrolled[i] as Float32Array);
    const index: number[] = [];
    const similarity: number[] = [];
    const offer = (i: number, sim: number) => {
      if (index.length === k && sim <= (similarity[k - 1] as number)) return;
      let j = index.length === k ? k - 1 : index.length;
      while (j > 0 && (similarity[j - 1] as number) < sim) {
        index[j] = index[j - 1] as number;
        similarity[j] = similarity[j - 1] as number;
        j--;
      }
      index[j] = i;
      similarity[j] = sim;
    };
    for (let i = 0; i < s; i++) offer(i, qs[i] as number);
    const { a, b, c, inv } = this;
    for (let t = 0; t < a.length; t++) {
      const z = c[t] as number;
      const sum =
        (qs[a[t] as number] as number) +
        (qs[b[t] as number] as number) +
        (z === 65535 ? 0 : (qs[z] as number));
      offer(s + t, sum * (inv[t] as number));
    }
    return { index, similarity };
  }
}

/** Stand-in for lfw-dev when no photos are given: 1000 random "people", 3 noisy photos each. */
export function syntheticFaces(dim: number): RealFace[] {
  const rand = mulberry32(7);
  const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  const out: RealFace[] = [];
  for (let p = 0; p < 1000; p++) {
    const base = Array.from({ length: dim }, gauss);
    for (let k = 0; k < 3; k++) {
      const noisy = base.map((x) => x + 1.1 * gauss());
      out.push({ person: `p${p}`, photo: `p${p}/${k}`, embedding: l2Normalize(noisy) });
    }
  }
  return out;
}
