import type { Redis } from 'ioredis';
import type { Logger } from '../../shared/logger.js';
import { publishGalleryChange } from '../../shared/queues.js';
import type { Store } from '../../shared/store/index.js';
import { GalleryIndex, type Candidate } from './gallery-index.js';

/** At most this often a query asks Redis whether the gallery changed. */
const CHECK_EVERY_MS = 250;
const LOAD_PAGE = 5000;

/**
 * Keeps this worker's GalleryIndex in step with the store across every replica. Whoever
 * changes a user's templates (an enrollment, an erasure) appends the user id to a Redis stream
 * after the store has committed; each worker replays the stream from where it stopped and
 * re-reads those users from the store. So a deleted person is out of every worker's index
 * within CHECK_EVERY_MS of its next query.
 */
export class GallerySync {
  readonly index: GalleryIndex;
  private lastId = '0-0';
  private checkedAt = 0;
  private loading: Promise<void> | undefined;
  private loaded = false;
  /** Catch-ups run one after another: overlapping ones could apply a stale read of a user last. */
  private catching: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly redis: Redis,
    private readonly streamKey: string,
    dim: number,
    private readonly logger?: Logger,
  ) {
    this.index = new GalleryIndex(dim, (ids) => store.templateEmbeddings(ids));
  }

  /** Templates in the index, or null before the first load finished. */
  get loadedSize(): number | null {
    return this.loaded ? this.index.size : null;
  }

  /** Loads the whole gallery once (first use), then applies changes since the last check. */
  async fresh(): Promise<GalleryIndex> {
    this.loading ??= this.load();
    await this.loading;
    if (Date.now() - this.checkedAt >= CHECK_EVERY_MS) await this.catchUp();
    return this.index;
  }

  async search(
    embedding: Float32Array,
    options: Parameters<GalleryIndex['search']>[1],
  ): Promise<Candidate[]> {
    return (await this.fresh()).search(embedding, options);
  }

  /** Call after committing a change to a user's templates. */
  async changed(userId: string): Promise<void> {
    await publishGalleryChange(this.redis, this.streamKey, userId);
    await this.catchUp();
  }

  private async load(): Promise<void> {
    const started = Date.now();
    // Read the stream position first: changes made while loading are replayed (idempotently).
    const [last] = await this.redis.xrevrange(this.streamKey, '+', '-', 'COUNT', 1);
    this.lastId = last?.[0] ?? '0-0';
    this.index.clear();
    for (let cursor: string | undefined; ;) {
      const page = await this.store.galleryPage({ limit: LOAD_PAGE, ...(cursor ? { cursor } : {}) });
      this.index.add(page.items);
      if (!page.next_cursor) break;
      cursor = page.next_cursor;
    }
    this.logger?.info({ templates: this.index.size, ms: Date.now() - started }, 'gallery loaded');
    await this.catchUp();
    this.loaded = true;
  }

  private catchUp(): Promise<void> {
    this.catching = this.catching.then(
      () => this.replay(),
      () => this.replay(),
    );
    return this.catching;
  }

  private async replay(): Promise<void> {
    this.checkedAt = Date.now();
    for (;;) {
      const entries = await this.redis.xrange(this.streamKey, `(${this.lastId}`, '+', 'COUNT', 1000);
      if (entries.length === 0) return;
      const users = new Set<string>();
      for (const [id, fields] of entries) {
        this.lastId = id;
        const userId = fields[fields.indexOf('user_id') + 1];
        if (userId) users.add(userId);
      }
      for (const userId of users) this.index.replaceUser(userId, await this.store.userTemplates(userId));
    }
  }
}
