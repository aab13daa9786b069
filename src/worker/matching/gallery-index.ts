import { dot } from '../../shared/face-math.js';
import type { GalleryEntry } from '../../shared/store/index.js';
import { ExactCache, type ExactLookup } from './exact-cache.js';
import { codeTable, kernels } from './native-codes.js';
import { codeBytes, DEFAULT_INT8_RANGE, int8Scale, quantize, signCode } from './quantize.js';
import { codeHeadBytes, Segment, type SegmentState } from './segment.js';
import { Users, type UsersState } from './users.js';

export interface Candidate {
  user_id: string;
  name: string;
  group: string | null;
  template_id: string;
  similarity: number;
  distance: number;
}

export type { ExactLookup };

export interface GalleryIndexOptions {
  /**
   * The active pack's embedding model id: templates made by another model are never held, so
   * never compared (their distances to this model's embeddings mean nothing). Unset = every
   * template (tests and benchmarks of the index alone).
   */
  model?: string;
  /** The pack's quantisation.int8_range: int8 = round(v * 127 / range). */
  int8Range?: number;
  /**
   * Keep an int8 copy of every template (512 B each at 512-d) to re-rank the binary shortlist
   * in memory; without it the shortlist's best go straight to the exact lookup (the store). On
   * by default: 1M templates cost 576 MB with it, 64 MB without; 10M need it off.
   */
  int8?: boolean;
  /** Templates the Hamming scan shortlists per group. Default 5000: on real lfw-dev queries over 1M templates the exact top-1 was in the Hamming top 2000 for 99.2 % of queries, in the top 5000 for all 600 (README). */
  shortlist?: number;
  /**
   * Rows per group the first Hamming stage keeps by the head plane alone (the first 256 bits
   * of the 512-bit codes: a scan of 32 of the 64 bytes per template), for the whole-code
   * Hamming distance that picks the `shortlist`. At least `shortlist`; the segment's size (or
   * more: Infinity) makes the shortlist the exact 512-bit Hamming top. Default 'auto'
   * (autoPrefilter): every row below AUTO_PREFILTER_FROM templates a group, a share of the rows
   * above, where reading every code is the query's time. The worker's GALLERY_PREFILTER sets it.
   */
  prefilter?: number | 'auto';
  /**
   * Bytes of exact embeddings kept in memory in front of the exact lookup (exact-cache.ts; the
   * worker's GALLERY_EXACT_CACHE_MB). Default 0: every exact read goes to the lookup.
   */
  exactCacheBytes?: number;
  /** Without int8: templates of the Hamming shortlist read from the exact lookup. Default 200. */
  exactReads?: number;
  /**
   * With int8: templates of the Hamming shortlist kept, by their asymmetric code score (float
   * query against the sign code, read from the codes already in cache), for the int8 step.
   * Default 1000: the int8 product of 5000 random 512-byte rows took 3.0-3.5 ms of a 1M query's
   * ~8 ms CPU (a cache and TLB miss per row), 1000 take ~0.25 ms with their rows prefetched;
   * the asymmetric score of 5000 and the pick of 1000 (codeTopN) ~0.7 ms
   * (bench/identify-stages.ts). Recall against exact: bench:identify (README, 1:N
   * identification).
   */
  rerank?: number;
  /**
   * Threads the Hamming scan of one segment may use (native kernel, at least 262,144 rows per
   * thread, so small groups stay on one). Default 1 here; the worker's GALLERY_SCAN_THREADS
   * (2) sets it. The scan is memory-bandwidth bound: on the
   * 2-core Zen 3 box one core streams 12-16 GB/s, two ~21 GB/s (README, 1:N identification).
   */
  scanThreads?: number;
}

export interface GalleryIndexState {
  dim: number;
  int8: boolean;
  segments: SegmentState[];
  users: UsersState;
}

/**
 * The gallery for 1:N identification, one segment per group (a group query scans only its
 * group, an all-groups query every segment; no template is stored twice). A query is ranked in
 * steps: Hamming distance of the first 256 bits of every sign code (a scan of the segment's
 * 32-byte head plane) keeps `prefilter` rows, their whole 512-bit distance (the tail plane,
 * read for those rows only) the `shortlist`, the asymmetric code score the `rerank` best, then
 * int8 inner product of those, exact float similarity of the best few
 * read through `exact` (the store). Reported similarities and the final order are exact; the
 * Hamming stages' recall is what bench:identify measures.
 */
export class GalleryIndex {
  private segments: Segment[] = [];
  private readonly segmentOf = new Map<string, number>();
  private users = new Users();
  readonly int8: boolean;
  readonly shortlist: number;
  readonly prefilter: number | 'auto';
  readonly exactReads: number;
  readonly rerank: number;
  readonly scanThreads: number;
  readonly model: string | undefined;
  readonly int8Scale: number;
  /** Templates of another model left out since the last clear (they wait for a re-embed). */
  otherModel = 0;
  /** The exact step's embeddings: the recent and most searched in memory, the rest from `exact`. */
  readonly exactCache: ExactCache;

  constructor(
    readonly dim: number,
    exact: ExactLookup,
    options: GalleryIndexOptions = {},
  ) {
    this.exactCache = new ExactCache(exact, options.exactCacheBytes ?? 0);
    this.int8 = options.int8 ?? true;
    this.shortlist = options.shortlist ?? 5000;
    this.prefilter = options.prefilter ?? 'auto';
    this.exactReads = options.exactReads ?? 200;
    this.rerank = options.rerank ?? 1000;
    this.scanThreads = Math.max(1, Math.floor(options.scanThreads ?? 1));
    this.model = options.model;
    this.int8Scale = int8Scale(options.int8Range ?? DEFAULT_INT8_RANGE);
  }

  /** The rows a segment of `size` keeps by the head plane: at least the shortlist, at most all. */
  keptByHead(size: number): number {
    const kept = this.prefilter === 'auto' ? autoPrefilter(size) : this.prefilter;
    return Math.min(size, Math.max(this.shortlist, kept));
  }

  get size(): number {
    let n = 0;
    for (const s of this.segments) n += s.size;
    return n;
  }

  /** Bytes of every typed array the index holds: vectors, codes, ids, names and tables. */
  get bytes(): number {
    let n = this.users.bytes + this.exactCache.bytes;
    for (const s of this.segments) n += s.bytes;
    return n;
  }

  get userCount(): number {
    return this.users.count;
  }

  /** Templates a search of `group` compares against (undefined = every group). */
  sizeOf(group?: string | null): number {
    if (group === undefined) return this.size;
    const s = this.segmentOf.get(key(group));
    return s === undefined ? 0 : (this.segments[s] as Segment).size;
  }

  /** Makes the index hold exactly `templates` (of its model) for this user (none = the user is gone). */
  replaceUser(userId: string, templates: GalleryEntry[]): void {
    const u = this.users.find(userId);
    if (u >= 0) this.removeTemplates(u);
    const mine = templates.filter((t) => this.model === undefined || t.model === this.model);
    if (mine.length === 0) {
      if (u >= 0) this.users.remove(u);
      return;
    }
    this.add(mine, true);
  }

  /**
   * Bulk load (start-up): entries must not be in the index yet. Their embeddings are cached
   * while the cache has room; `evict` (a user's new templates) makes room for them.
   */
  add(entries: GalleryEntry[], evict = false): void {
    for (const t of entries) {
      if (this.model !== undefined && t.model !== this.model) {
        this.otherModel++;
        continue;
      }
      const s = this.segmentIndex(t.group);
      const u = this.users.upsert(t.user_id, t.name, s);
      const slot = (this.segments[s] as Segment).push(
        t.template_id,
        u,
        this.users.first[u] as number,
        t.embedding,
      );
      this.users.first[u] = slot;
      this.exactCache.remember(t.template_id, t.embedding, evict);
    }
  }

  clear(): void {
    this.exactCache.clear();
    this.otherModel = 0;
    this.segments = [];
    this.segmentOf.clear();
    this.users = new Users();
  }

  /** Room for `templates` more in `group` (a bulk load that knows its size grows once). */
  reserve(group: string | null, templates: number, users = templates): void {
    const s = this.segments[this.segmentIndex(group)] as Segment;
    s.reserve(s.size + templates);
    this.users.reserve(this.users.rows + users);
  }

  /**
   * The `topK` nearest users (best template each), nearest first. `group` undefined = all
   * groups; null = templates without a group.
   */
  async search(
    embedding: Float32Array,
    options: { topK: number; group?: string | null; excludeUserId?: string },
  ): Promise<Candidate[]> {
    const { picked } = this.rank(embedding, options.topK, options.group);
    const exact = await this.exactCache.lookup(picked.map((p) => p.templateId));
    const best = new Map<number, { p: Picked; similarity: number }>();
    for (const p of picked) {
      const e = exact.get(p.templateId);
      if (!e) continue;
      const similarity = dot(embedding, e);
      const prior = best.get(p.u);
      if (!prior || similarity > prior.similarity) best.set(p.u, { p, similarity });
    }
    const out: Candidate[] = [];
    for (const { p, similarity } of best.values()) {
      const userId = this.users.ids.get(p.u);
      if (userId === options.excludeUserId) continue;
      out.push({
        user_id: userId,
        name: this.users.names.get(p.u),
        group: p.group,
        template_id: p.templateId,
        similarity,
        distance: 1 - similarity,
      });
    }
    return out.sort((a, b) => b.similarity - a.similarity).slice(0, options.topK);
  }

  /**
   * What a search would compare (for benchmarks and tests): the template ids of the Hamming
   * shortlist, and of the ones it reads exactly.
   */
  explain(
    embedding: Float32Array,
    topK: number,
    group?: string | null,
  ): { shortlist: string[]; reads: string[] } {
    const { picked, shortlist } = this.rank(embedding, topK, group, true);
    return {
      shortlist: shortlist.map(([s, at]) => (this.segments[s] as Segment).templateIds.get(at)),
      reads: picked.map((p) => p.templateId),
    };
  }

  /** Hamming shortlist per segment, merged by int8 (or Hamming) score; the best go to `exact`. */
  private rank(
    embedding: Float32Array,
    topK: number,
    group: string | null | undefined,
    withShortlist = false,
  ): { picked: Picked[]; shortlist: [number, number][] } {
    const code = new Uint8Array(codeBytes(this.dim));
    signCode(embedding, code);
    const hb = codeHeadBytes(this.dim);
    const qHead = code.subarray(0, hb);
    const qTail = code.subarray(hb);
    const query8 = new Int8Array(this.dim);
    quantize(embedding, query8, 0, this.int8Scale);
    // Built when a step scores codes: a group of at most `rerank` templates with int8 copies
    // goes from the Hamming scan straight to the int8 product, and this 64 KB table took ~15 %
    // of a duplicate check's search at 2,000 templates (~57 us of ~380, cold process).
    let built: Int32Array | undefined;
    const table = () => (built ??= codeTable(query8));
    const scope =
      group === undefined
        ? this.segments.map((_, i) => i)
        : [this.segmentOf.get(key(group))].filter((i) => i !== undefined);
    // Enough for the exact step that the exact top-k users are among them even when users have
    // several templates and int8 rounding reorders near-ties.
    const reads = this.int8 ? Math.max(32, topK * 8) : Math.max(this.exactReads, topK * 8);
    const shortlist: [number, number][] = [];
    const parts: { si: number; rows: Uint32Array; scores: Int32Array }[] = [];
    let total = 0;
    for (const si of scope) {
      const s = this.segments[si] as Segment;
      if (s.size === 0) continue;
      const k = Math.min(this.shortlist, s.size);
      const k1 = this.keptByHead(s.size);
      // With int8 the code score's best `rerank` go to the int8 product; without, only the
      // `reads` best are read from the store.
      const n = s.int8 ? this.rerank : reads;
      let rows: Uint32Array;
      if (k1 >= s.size && k > n && !withShortlist) {
        // Every row's whole code scanned: each row the scan keeps is scored as it is taken, its
        // codes in cache, so the k rows are not read again (1M, one core, Zen 3: the separate
        // codeTopN of 5000 scattered rows took 0.74 ms; README, 1:N identification).
        rows = kernels.shortlistByCode(s.head, s.tail, s.size, qHead, qTail, k, table(), n, this.scanThreads);
      } else {
        rows = kernels
          .hammingTopK2(s.head, s.tail, s.size, qHead, qTail, k1, k, this.scanThreads)
          .subarray(0, k);
        // The rows' `n` best asymmetric code scores, scored on the scan's threads: the rows
        // are scattered cache misses, and a second thread's overlap (10M, 5000 -> 200 rows:
        // 1.53-1.62 -> 0.99-1.03 ms in one run; bench:identify p50 21.22 -> 20.36 ms). One
        // native call (stage bench, 1M: two codeDots of 5000 rows, their sum and the JS sort
        // took 2.4 + 0.3 ms; the fused call with its rows prefetched 0.7 ms).
        if (rows.length > n)
          rows = kernels.codeTopN(s.head, hb, s.tail, s.tailBytes, rows, table(), n, this.scanThreads);
      }
      let scores: Int32Array;
      if (s.int8) {
        scores = kernels.dotI8(s.int8, this.dim, rows, query8);
      } else {
        // Score just the picked rows for the merge across groups (10M, first-plane prefilter:
        // two codeDots of 5000 rows and the sort took ~1.4 ms).
        scores = kernels.codeDots(s.head, hb, rows, table().subarray(0, hb * 256));
        if (s.tailBytes > 0) {
          const more = kernels.codeDots(s.tail, s.tailBytes, rows, table().subarray(hb * 256));
          for (let i = 0; i < scores.length; i++) scores[i] = (scores[i] as number) + (more[i] as number);
        }
      }
      parts.push({ si, rows, scores });
      total += rows.length;
    }
    // The reads-th best score by a native sort of a copy (thousands of ints: ~0.1 ms), then
    // everything above it and enough of the ties.
    let cut = -Infinity;
    if (total > reads) {
      const all = new Int32Array(total);
      let at = 0;
      for (const p of parts) all.set(p.scores, (at += p.scores.length) - p.scores.length);
      cut = all.sort()[total - reads] as number;
    }
    let ties = reads - parts.reduce((n, p) => n + p.scores.filter((x) => x > cut).length, 0);
    const picked: Picked[] = [];
    for (const { si, rows, scores } of parts) {
      const s = this.segments[si] as Segment;
      for (let i = 0; i < rows.length; i++) {
        const at = rows[i] as number;
        if (withShortlist) shortlist.push([si, at]);
        const x = scores[i] as number;
        if (x < cut || (x === cut && ties-- <= 0)) continue;
        picked.push({ group: s.group, u: s.user[at] as number, templateId: s.templateIds.get(at) });
      }
    }
    return { picked, shortlist };
  }

  /** The index's arrays, for a snapshot (shared, not copied: do not mutate while writing). */
  get state(): GalleryIndexState {
    return {
      dim: this.dim,
      int8: this.int8,
      segments: this.segments.map((s) => s.state),
      users: this.users.state,
    };
  }

  /** Replaces the contents with a snapshot's. */
  restore(state: GalleryIndexState): void {
    if (state.dim !== this.dim || state.int8 !== this.int8) throw new Error('snapshot layout differs');
    this.clear();
    for (const s of state.segments) {
      this.segmentOf.set(key(s.group), this.segments.length);
      this.segments.push(new Segment(s.group, this.dim, this.int8, this.int8Scale, s));
    }
    this.users = new Users(state.users);
  }

  private removeTemplates(u: number): void {
    const users = this.users;
    const s = this.segments[users.segment[u] as number] as Segment;
    const gone: string[] = [];
    for (let at = users.first[u] as number; at !== -1; at = users.first[u]!) {
      gone.push(s.templateIds.get(at));
      users.first[u] = s.next[at] as number;
      const moved = s.removeAt(at);
      if (moved < 0) continue;
      // The template that was in slot `moved` is now at `at`: repoint whoever linked to it.
      const mu = s.user[at] as number;
      if (users.first[mu] === moved) users.first[mu] = at;
      else {
        let x = users.first[mu] as number;
        while (s.next[x] !== moved) x = s.next[x] as number;
        s.next[x] = at;
      }
    }
    // An erased person's embeddings leave memory with their templates.
    this.exactCache.forget(gone);
  }

  private segmentIndex(group: string | null): number {
    const k = key(group);
    let i = this.segmentOf.get(k);
    if (i === undefined) {
      i = this.segments.length;
      this.segments.push(new Segment(group, this.dim, this.int8, this.int8Scale));
      this.segmentOf.set(k, i);
    }
    return i;
  }
}

/**
 * Groups smaller than this are scanned whole (the exact 512-bit Hamming shortlist). At 1M
 * (bench:identify, 1000 real-photo queries, CPU p50 against the whole scan in the run before
 * or after) no head-plane cut both kept recall@1 >= 0.999 and saved time: 50000 kept rows 6.8 vs
 * 8.1 ms and recall@1 0.997 (was 0.999), 60000 7.5 vs 7.0 and 0.998, 100000 8.7 vs 8.3 and
 * 0.999, 200000 12.5 vs 8.3: the head scan is half the bytes, but each kept row costs a
 * scattered read of the tail (~25 ns). At 10M the whole scan alone (640 MB) is over issue 10's
 * 20 ms on two cores (~23 ms, 27 GB/s on the Xeon), so large groups read the head plane only.
 */
export const AUTO_PREFILTER_FROM = 4_194_304;
/**
 * Share of a large group the head plane keeps by default. 10M, GALLERY_INT8=false, 2 threads,
 * 400 real-photo queries (bench:identify, Xeon with 260 MB L3, 2026-12-02): every row p50 32.6
 * ms, p99 57.3, recall@1 0.9875; 1 % (100,000) 24.0 / 37.6 ms, 0.9825 (2 more of 400 miss).
 */
export const AUTO_PREFILTER_SHARE = 0.01;

/** The rows the head plane keeps by default in a group of `size` templates. */
export const autoPrefilter = (size: number): number =>
  size < AUTO_PREFILTER_FROM ? size : Math.ceil(size * AUTO_PREFILTER_SHARE);

interface Picked {
  group: string | null;
  u: number;
  templateId: string;
}

/** Segment key: groups are non-empty strings, so '' can stand for "no group". */
const key = (group: string | null) => group ?? '';
