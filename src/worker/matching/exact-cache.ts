import { LRUCache } from 'lru-cache';

/** Exact embeddings for re-ranking, looked up by template id (the store). */
export type ExactLookup = (templateIds: string[]) => Promise<Map<string, Float32Array>>;

/** What one cached template costs: its floats, its id (UTF-16) and the cache's own entry. */
const entryBytes = (embedding: Float32Array, templateId: string) =>
  embedding.byteLength + templateId.length * 2 + 128;

/**
 * The exact embeddings a search re-ranks with, kept in memory up to a byte budget (least
 * recently used out first), in front of the store: every 1:N search reads its best 32
 * templates exactly, and from SQLite that was ~0.8 ms of an enrollment's ~7 ms of main-thread
 * work (its duplicate check; the same per face of an attendance frame). At ~2.2 KB a template
 * (512 floats), 64 MB holds a gallery of ~29,000 whole; a larger one keeps the templates
 * searched most (the people a camera sees every day).
 *
 * An erased template must not stay in memory: `forget` drops it, and a store read that was in
 * flight while anything was forgotten is not cached (its templates may be the ones just erased).
 * Hand-written around lru-cache only for that guard.
 */
export class ExactCache {
  private readonly cache: LRUCache<string, Float32Array> | undefined;
  /** Bumped by every forget/clear: a read that saw it change caches nothing. */
  private generation = 0;

  constructor(
    private readonly read: ExactLookup,
    readonly maxBytes: number,
  ) {
    this.cache =
      maxBytes > 0
        ? new LRUCache<string, Float32Array>({ maxSize: maxBytes, sizeCalculation: entryBytes })
        : undefined;
  }

  get bytes(): number {
    return this.cache?.calculatedSize ?? 0;
  }

  get size(): number {
    return this.cache?.size ?? 0;
  }

  has(templateId: string): boolean {
    return this.cache?.has(templateId) ?? false;
  }

  /**
   * Keeps a copy of a template just added to the index (its array may be a view into a larger
   * page). `evict` false: only while there is room (a bulk load fills the cache, never churns it).
   */
  remember(templateId: string, embedding: Float32Array, evict: boolean): void {
    const cache = this.cache;
    if (!cache) return;
    if (!evict && cache.calculatedSize + entryBytes(embedding, templateId) > this.maxBytes) return;
    cache.set(templateId, embedding.slice());
  }

  forget(templateIds: Iterable<string>): void {
    this.generation++;
    if (!this.cache) return;
    for (const id of templateIds) this.cache.delete(id);
  }

  clear(): void {
    this.generation++;
    this.cache?.clear();
  }

  /** The embeddings of `templateIds`: cached ones from memory, the rest from the store. */
  async lookup(templateIds: string[]): Promise<Map<string, Float32Array>> {
    const cache = this.cache;
    if (!cache) return this.read(templateIds);
    const found = new Map<string, Float32Array>();
    const missing: string[] = [];
    for (const id of templateIds) {
      const e = cache.get(id);
      if (e) found.set(id, e);
      else missing.push(id);
    }
    if (missing.length === 0) return found;
    const generation = this.generation;
    const read = await this.read(missing);
    const keep = generation === this.generation;
    for (const [id, e] of read) {
      found.set(id, e);
      if (keep) cache.set(id, e.slice());
    }
    return found;
  }
}
