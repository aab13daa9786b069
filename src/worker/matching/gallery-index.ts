import usearch from 'usearch';
import { dot } from '../../shared/face-math.js';
import type { GalleryEntry } from '../../shared/store/index.js';
import { quantize } from './quantize.js';

const { exactSearch, MetricKind } = usearch;

export interface IndexedTemplate {
  template_id: string;
  user_id: string;
  name: string;
  group: string | null;
}

export interface Candidate {
  user_id: string;
  name: string;
  group: string | null;
  template_id: string;
  similarity: number;
  distance: number;
}

/** Exact embeddings for re-ranking, looked up by template id (the store). */
export type ExactLookup = (templateIds: string[]) => Promise<Map<string, Float32Array>>;

/**
 * The templates of one group, packed into one int8 matrix that a SIMD brute-force scan
 * (usearch's exactSearch) reads in one pass: 1M x 512 = 512 MB and ~20 ms per query on one core.
 * Removal swaps the last row into the hole, so the matrix stays dense.
 */
class Segment {
  readonly entries: IndexedTemplate[] = [];
  private data: Int8Array;
  private readonly slotOf = new Map<string, number>();

  constructor(private readonly dim: number) {
    this.data = new Int8Array(dim * 1024);
  }

  get size(): number {
    return this.entries.length;
  }

  get bytes(): number {
    return this.data.byteLength;
  }

  upsert(entry: IndexedTemplate, embedding: ArrayLike<number>): void {
    let slot = this.slotOf.get(entry.template_id);
    if (slot === undefined) {
      slot = this.entries.length;
      if ((slot + 1) * this.dim > this.data.length) this.grow();
      this.entries.push(entry);
      this.slotOf.set(entry.template_id, slot);
    } else {
      this.entries[slot] = entry;
    }
    quantize(embedding, this.data, slot * this.dim);
  }

  remove(templateId: string): void {
    const slot = this.slotOf.get(templateId);
    if (slot === undefined) return;
    const last = this.entries.length - 1;
    const moved = this.entries[last] as IndexedTemplate;
    if (slot !== last) {
      this.data.copyWithin(slot * this.dim, last * this.dim, (last + 1) * this.dim);
      this.entries[slot] = moved;
      this.slotOf.set(moved.template_id, slot);
    }
    this.entries.pop();
    this.slotOf.delete(templateId);
  }

  /** The `k` best slots by int8 inner product. */
  scan(query: Int8Array, k: number): IndexedTemplate[] {
    const n = this.entries.length;
    if (n === 0) return [];
    const matches = exactSearch(
      this.data.subarray(0, n * this.dim),
      query,
      this.dim,
      Math.min(k, n),
      MetricKind.IP,
      1,
    );
    return Array.from(matches.keys, (key) => this.entries[Number(key)] as IndexedTemplate);
  }

  private grow(): void {
    const next = new Int8Array(this.data.length * 2);
    next.set(this.data);
    this.data = next;
  }
}

/**
 * The gallery for 1:N identification: one segment per group, so a group query scans only its
 * group and an all-groups query scans every segment (no template is stored twice). Candidates
 * from the int8 scan are re-ranked with exact float embeddings, so reported distances and the
 * final order are exact.
 */
export class GalleryIndex {
  private readonly segments = new Map<string, Segment>();
  private readonly byUser = new Map<string, IndexedTemplate[]>();

  constructor(
    readonly dim: number,
    private readonly exact: ExactLookup,
  ) {}

  get size(): number {
    let n = 0;
    for (const s of this.segments.values()) n += s.size;
    return n;
  }

  get bytes(): number {
    let n = 0;
    for (const s of this.segments.values()) n += s.bytes;
    return n;
  }

  /** Templates a search of `group` compares against (undefined = every group). */
  sizeOf(group?: string | null): number {
    return group === undefined ? this.size : (this.segments.get(key(group))?.size ?? 0);
  }

  /** Makes the index hold exactly `templates` for this user (none = the user is gone). */
  replaceUser(userId: string, templates: GalleryEntry[]): void {
    for (const old of this.byUser.get(userId) ?? []) this.segment(old.group).remove(old.template_id);
    const kept: IndexedTemplate[] = [];
    for (const t of templates) {
      const entry = { template_id: t.template_id, user_id: t.user_id, name: t.name, group: t.group };
      this.segment(t.group).upsert(entry, t.embedding);
      kept.push(entry);
    }
    if (kept.length) this.byUser.set(userId, kept);
    else this.byUser.delete(userId);
  }

  /** Bulk load (start-up): entries must not be in the index yet. */
  add(entries: GalleryEntry[]): void {
    for (const t of entries) {
      const entry = { template_id: t.template_id, user_id: t.user_id, name: t.name, group: t.group };
      this.segment(t.group).upsert(entry, t.embedding);
      const list = this.byUser.get(t.user_id);
      if (list) list.push(entry);
      else this.byUser.set(t.user_id, [entry]);
    }
  }

  clear(): void {
    this.segments.clear();
    this.byUser.clear();
  }

  /**
   * The `topK` nearest users (best template each), nearest first. `group` undefined = all
   * groups; null = templates without a group.
   */
  async search(
    embedding: Float32Array,
    options: { topK: number; group?: string | null; excludeUserId?: string },
  ): Promise<Candidate[]> {
    const query = new Int8Array(this.dim);
    quantize(embedding, query);
    // Enough int8 candidates that the exact top-k users are among them even when users have
    // several templates and int8 rounding reorders near-ties.
    const shortlist = Math.max(32, options.topK * 8);
    const segments =
      options.group === undefined
        ? [...this.segments.values()]
        : [this.segments.get(key(options.group))].filter((s) => s !== undefined);
    const pool = segments.flatMap((s) => s.scan(query, shortlist));
    const exact = await this.exact(pool.map((p) => p.template_id));
    const best = new Map<string, Candidate>();
    for (const p of pool) {
      const e = exact.get(p.template_id);
      if (!e || p.user_id === options.excludeUserId) continue;
      const similarity = dot(embedding, e);
      const prior = best.get(p.user_id);
      if (!prior || similarity > prior.similarity)
        best.set(p.user_id, { ...p, similarity, distance: 1 - similarity });
    }
    return [...best.values()].sort((a, b) => b.similarity - a.similarity).slice(0, options.topK);
  }

  private segment(group: string | null): Segment {
    const k = key(group);
    let s = this.segments.get(k);
    if (!s) {
      s = new Segment(this.dim);
      this.segments.set(k, s);
    }
    return s;
  }
}

/** Segment key: groups are non-empty strings, so '' can stand for "no group". */
const key = (group: string | null) => group ?? '';
