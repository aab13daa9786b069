import type {
  BatchJob,
  EnrollOutcome,
  ErasureReceipt,
  GalleryEntry,
  IdempotencyRecord,
  ItemResult,
  Page,
  TemplateInput,
  User,
  UserInput,
  WebhookDelivery,
} from './types.js';

export type * from './types.js';

/**
 * The one persistence interface. Implementations: SqliteStore (embedded default) and
 * MongoStore (when MONGODB_URL is set). Every write is idempotent where a retried job could
 * repeat it: item results are keyed by (job_id, index), templates by (user_id, photo_sha256).
 */
export interface Store {
  readonly kind: 'sqlite' | 'mongodb';

  /** Creates tables/collections and indexes. Safe to call on every start. */
  init(): Promise<void>;
  close(): Promise<void>;

  /** Upserts the user and adds (or, with `replace`, replaces all templates with) this template. */
  enroll(user: UserInput, template: TemplateInput, mode: 'add' | 'replace'): Promise<EnrollOutcome>;
  getUser(userId: string): Promise<User | undefined>;
  listUsers(query: { group?: string; cursor?: string; limit: number }): Promise<Page<User>>;
  /** Erases the user and templates; leaves a tombstone so in-flight work cannot re-create them. */
  deleteUser(userId: string): Promise<ErasureReceipt | undefined>;
  /** When the user was last erased, if ever. */
  erasedAt(userId: string): Promise<string | undefined>;
  /** Every template (optionally of one group), with embeddings: the matching gallery. */
  gallery(group?: string): Promise<GalleryEntry[]>;

  createJob(job: BatchJob): Promise<void>;
  getJob(jobId: string): Promise<BatchJob | undefined>;
  updateJob(
    jobId: string,
    patch: Partial<Pick<BatchJob, 'status' | 'started_at' | 'finished_at'>>,
  ): Promise<void>;
  /** Upsert by (job_id, index): a retried item overwrites, never duplicates. */
  putItemResult(result: ItemResult): Promise<void>;
  /** Results ordered by index, after `cursor`. */
  listItemResults(jobId: string, query: { cursor?: string; limit: number }): Promise<Page<ItemResult>>;
  countItemResults(jobId: string): Promise<{ done: number; failed: number }>;

  /**
   * Claims an idempotency key atomically: `claimed` for exactly one of any number of concurrent
   * callers; the others get the existing record.
   */
  claimIdempotencyKey(
    key: string,
    bodySha256: string,
  ): Promise<{ claimed: true } | { claimed: false; record: IdempotencyRecord }>;
  setIdempotencyResponse(key: string, response: { status: number; body: unknown }): Promise<void>;
  /** Releases a claim whose request failed before creating anything, so a retry can proceed. */
  releaseIdempotencyKey(key: string): Promise<void>;

  addWebhookDelivery(delivery: WebhookDelivery): Promise<void>;
  listWebhookDeliveries(jobId: string): Promise<WebhookDelivery[]>;
}
