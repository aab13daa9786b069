import type { Redis } from 'ioredis';
import { dot } from '../shared/face-math.js';
import type { GalleryEntry, Store } from '../shared/store/index.js';

/**
 * The enrolled templates, in memory, kept current across worker processes by a version counter
 * in Redis: every write bumps it after the store commits, so a reader that sees version v has
 * every write up to v. A writer whose bump is the only change since its last load applies the
 * change locally instead of reloading.
 */
export class GalleryCache {
  private entries: GalleryEntry[] = [];
  private version = -1;

  constructor(
    private readonly store: Store,
    private readonly redis: Redis,
    private readonly versionKey: string,
  ) {}

  async current(): Promise<GalleryEntry[]> {
    const v = Number((await this.redis.get(this.versionKey)) ?? 0);
    if (v !== this.version) {
      this.entries = await this.store.gallery();
      this.version = v;
    }
    return this.entries;
  }

  /** Call after a store write; `apply` mirrors that write on the cached entries. */
  async changed(apply: (entries: GalleryEntry[]) => GalleryEntry[]): Promise<void> {
    const v = await this.redis.incr(this.versionKey);
    if (v === this.version + 1) {
      this.entries = apply(this.entries);
      this.version = v;
    }
  }

  /** Nearest template of a user other than `exceptUserId` (embeddings are unit vectors). */
  async nearestOther(
    embedding: Float32Array,
    exceptUserId: string,
  ): Promise<{ entry: GalleryEntry; distance: number } | undefined> {
    let best: { entry: GalleryEntry; distance: number } | undefined;
    for (const entry of await this.current()) {
      if (entry.user_id === exceptUserId) continue;
      const distance = 1 - dot(embedding, entry.embedding);
      if (!best || distance < best.distance) best = { entry, distance };
    }
    return best;
  }
}
