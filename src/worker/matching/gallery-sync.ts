import type { RedisClient } from '../../shared/redis-client.js';
import type { Logger } from '../../shared/logger.js';
import {
  publishAndReadGalleryChanges,
  publishGalleryChange,
  type GalleryChanges,
} from '../../shared/gallery-stream.js';
import type { Store } from '../../shared/store/index.js';
import { GalleryIndex, type Candidate, type GalleryIndexOptions } from './gallery-index.js';
import { readSnapshot, writeSnapshot } from './gallery-snapshot.js';
import { streamCovers, streamInfo } from './stream-position.js';

/** A file name for the model's snapshot (model ids hold '@' and '/'). */
export const snapshotName = (model: string) => `gallery-${model.replace(/[^\w.-]+/g, '_')}`;

/** At most this often a query asks Redis whether the gallery changed. */
const CHECK_EVERY_MS = 250;
const LOAD_PAGE = 5000;
const REPLAY_PAGE = 1000;

export interface GallerySyncOptions {
  index?: GalleryIndexOptions;
  /** Where this worker keeps its snapshot (none = always load from the store). */
  snapshotPath?: string;
  /**
   * The active pack's embedding model: the only one the index holds (templates of another
   * model are skipped, and counted in the load log) and the one the snapshot must be made with.
   */
  model?: string;
  /**
   * A new snapshot at most this often once the gallery changed (default 10 min): a restart then
   * replays at most this long of the stream (which keeps ~100k changes) on top of it.
   */
  snapshotEveryMs?: number;
}

/**
 * Keeps this worker's GalleryIndex in step with the store across every replica. Whoever
 * changes a user's templates (an enrollment, an erasure) appends the user id to a Redis stream
 * after the store has committed; each worker replays the stream from where it stopped and
 * re-reads those users from the store. So a deleted person is out of every worker's index
 * within CHECK_EVERY_MS of its next query.
 *
 * Start-up reads the local snapshot when it was made for this model, layout and stream and the
 * stream still holds every change since (not trimmed past it), then replays those changes, an
 * erasure included; otherwise it loads the store page by page and writes a new snapshot.
 */
export class GallerySync {
  readonly index: GalleryIndex;
  private lastId = '0-0';
  private checkedAt = 0;
  private loading: Promise<void> | undefined;
  private loaded = false;
  /** Catch-ups (and snapshot writes) run one after another: the index never changes mid-write. */
  private catching: Promise<void> = Promise.resolve();
  private savedId: string | undefined;
  private savedAt = 0;
  private saving = false;
  /** How the last start-up went, for logs and benchmarks. */
  startup: { source: 'snapshot' | 'store'; ms: number; reason?: string; replayed: number } | undefined;

  constructor(
    private readonly store: Store,
    private readonly redis: RedisClient,
    private readonly streamKey: string,
    private readonly dim: number,
    private readonly logger?: Logger,
    private readonly options: GallerySyncOptions = {},
  ) {
    // The snapshot's model is the index's: templates of another model are never loaded.
    this.index = new GalleryIndex(dim, (ids) => store.templateEmbeddings(ids), {
      ...options.index,
      ...(options.model === undefined ? {} : { model: options.model }),
    });
  }

  /** Templates in the index, or null before the first load finished. */
  get loadedSize(): number | null {
    return this.loaded ? this.index.size : null;
  }

  /** Loads the whole gallery once (first use), then applies changes since the last check. */
  async fresh(): Promise<GalleryIndex> {
    // A failed load (store or Redis down) is retried by the next query, not remembered.
    this.loading ??= this.load().catch((err: unknown) => {
      this.loading = undefined;
      throw err;
    });
    await this.loading;
    if (Date.now() - this.checkedAt >= CHECK_EVERY_MS) await this.catchUp();
    if (this.snapshotDue()) void this.saveSnapshot().catch(() => undefined);
    return this.index;
  }

  async search(
    embedding: Float32Array,
    options: Parameters<GalleryIndex['search']>[1],
  ): Promise<Candidate[]> {
    return (await this.fresh()).search(embedding, options);
  }

  /**
   * Call after committing a change to a user's templates: announces it to every worker and
   * applies it (and whatever else is new) here, the announcement and the first read in one
   * round trip, queued behind any catch-up under way.
   */
  async changed(userId: string): Promise<void> {
    if (this.saving) {
      // A snapshot write holds the queue (seconds at 1M): other workers must not wait for it.
      await publishGalleryChange(this.redis, this.streamKey, userId);
      return this.catchUp();
    }
    const first = () =>
      publishAndReadGalleryChanges(this.redis, this.streamKey, userId, this.lastId, REPLAY_PAGE);
    this.catching = this.catching.then(
      () => this.replay(first),
      () => this.replay(first),
    );
    return this.catching;
  }

  /** Resolves once queued catch-ups and snapshot writes are done (call before closing the store). */
  settled(): Promise<void> {
    return this.catching.then(
      () => undefined,
      () => undefined,
    );
  }

  /** Writes the snapshot now (after the changes seen so far); resolves to its size, or 0. */
  saveSnapshot(): Promise<number> {
    const path = this.options.snapshotPath;
    if (!path || !this.loaded) return Promise.resolve(0);
    let size = 0;
    this.saving = true;
    const write = async () => {
      const started = Date.now();
      size = await writeSnapshot(path, this.identity(), this.lastId, this.index.state);
      this.savedId = this.lastId;
      this.savedAt = Date.now();
      this.logger?.info({ path, bytes: size, ms: Date.now() - started }, 'gallery snapshot written');
    };
    this.catching = this.catching.then(write, write);
    return this.catching
      .then(
        () => size,
        (err: unknown) => {
          this.logger?.warn({ err, path }, 'gallery snapshot not written');
          return 0;
        },
      )
      .finally(() => (this.saving = false));
  }

  private identity() {
    return {
      model: this.options.model ?? 'unknown',
      dim: this.dim,
      int8: this.index.int8,
      streamKey: this.streamKey,
    };
  }

  private snapshotDue(): boolean {
    if (!this.options.snapshotPath || !this.loaded || this.saving || this.savedId === this.lastId)
      return false;
    return Date.now() - this.savedAt >= (this.options.snapshotEveryMs ?? 10 * 60_000);
  }

  private async load(): Promise<void> {
    const started = Date.now();
    const reason = await this.loadSnapshot();
    if (reason === undefined) {
      const before = this.lastId;
      const replayed = await this.catchUpCounting();
      this.startup = { source: 'snapshot', ms: Date.now() - started, replayed };
      this.logger?.info(
        { templates: this.index.size, from: before, replayed, ms: this.startup.ms },
        'gallery loaded from snapshot',
      );
      this.loaded = true;
      this.savedId = before;
      this.savedAt = Date.now();
      return;
    }
    // Read the stream position first: changes made while loading are replayed (idempotently).
    // The last generated id, not the last entry: a trimmed-empty stream still has a position.
    this.lastId = (await streamInfo(this.redis, this.streamKey))?.lastId ?? '0-0';
    this.index.clear();
    for (let cursor: string | undefined; ;) {
      const page = await this.store.galleryPage({ limit: LOAD_PAGE, ...(cursor ? { cursor } : {}) });
      this.index.add(page.items);
      if (!page.next_cursor) break;
      cursor = page.next_cursor;
    }
    const replayed = await this.catchUpCounting();
    this.startup = { source: 'store', ms: Date.now() - started, reason, replayed };
    this.logger?.[this.index.otherModel > 0 ? 'warn' : 'info'](
      {
        templates: this.index.size,
        ms: this.startup.ms,
        snapshot: reason,
        ...(this.index.otherModel > 0
          ? { other_model_templates: this.index.otherModel, model: this.options.model }
          : {}),
      },
      this.index.otherModel > 0
        ? 'gallery loaded; templates of another model left out (re-embed them: README, Models)'
        : 'gallery loaded',
    );
    this.loaded = true;
    if (this.options.snapshotPath) void this.saveSnapshot();
  }

  /** Restores the snapshot into the index; returns why it was not usable, or undefined. */
  private async loadSnapshot(): Promise<string | undefined> {
    const path = this.options.snapshotPath;
    if (!path) return 'snapshots off';
    const snap = readSnapshot(path, this.identity());
    if (!snap.ok) return snap.reason;
    const covered = await streamCovers(this.redis, this.streamKey, snap.streamId);
    if (covered !== true) return covered;
    this.index.restore(snap.state);
    this.lastId = snap.streamId;
    return undefined;
  }

  private replayedCount = 0;
  private async catchUpCounting(): Promise<number> {
    this.replayedCount = 0;
    await this.catchUp();
    return this.replayedCount;
  }

  private catchUp(): Promise<void> {
    this.catching = this.catching.then(
      () => this.replay(),
      () => this.replay(),
    );
    return this.catching;
  }

  /** Applies the stream after lastId, page by page; `first` reads the first page instead. */
  private async replay(first?: () => Promise<GalleryChanges>): Promise<void> {
    this.checkedAt = Date.now();
    for (let page = first; ; page = undefined) {
      const entries = page
        ? await page()
        : await this.redis.xrange(this.streamKey, `(${this.lastId}`, '+', 'COUNT', REPLAY_PAGE);
      if (entries.length === 0) return;
      const users = new Set<string>();
      for (const [id, fields] of entries) {
        this.lastId = id;
        const userId = fields[fields.indexOf('user_id') + 1];
        if (userId) users.add(userId);
      }
      this.replayedCount += entries.length;
      for (const userId of users) this.index.replaceUser(userId, await this.store.userTemplates(userId));
      // A short page was the stream's end when read: asking again was one more round trip per
      // enrolled person (bench:enroll's profile: 103 ms of 450 in this loop for 477 people).
      // What arrives after is the next check's.
      if (entries.length < REPLAY_PAGE) return;
    }
  }
}
