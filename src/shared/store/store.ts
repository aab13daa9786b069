import type {
  AttendanceQuery,
  AttendanceRecord,
  BatchJob,
  BatchJobPatch,
  EnrollOutcome,
  ErasureReceipt,
  GalleryEntry,
  GroupSummary,
  IdempotencyRecord,
  ItemResult,
  Page,
  Sighting,
  TemplateInput,
  UnknownPerson,
  UnknownSighting,
  UnknownSightingQuery,
  User,
  UserInput,
  WebhookDelivery,
  WebhookEndpoint,
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
  /** Resolves when the store answers a trivial query (for /health); rejects when it cannot. */
  ping(): Promise<void>;

  /**
   * Upserts the user and adds (or, with `replace`, replaces all templates with) this template.
   * A null group keeps the group the user already has. With `acceptedAt` (when the batch asking
   * for it was accepted), an erasure of the user at or after that moment wins, whatever the
   * interleaving with a concurrent `deleteUser`: nothing of this call remains, and it says ERASED.
   */
  enroll(
    user: UserInput,
    template: TemplateInput,
    mode: 'add' | 'replace',
    acceptedAt?: string,
  ): Promise<EnrollOutcome | 'ERASED'>;
  getUser(userId: string): Promise<User | undefined>;
  listUsers(query: { group?: string; cursor?: string; limit: number }): Promise<Page<User>>;
  /** Every group with its user count, by name, the ungrouped (null) last. */
  listGroups(): Promise<GroupSummary[]>;
  /**
   * Erases the user and templates; leaves a tombstone so in-flight work cannot re-create them
   * (see `enroll`'s acceptedAt). For a user id the store does not hold, the tombstone is written
   * only with `tombstoneIfUnknown` (default true): the caller knows of work in flight for it.
   */
  deleteUser(userId: string, opts?: { tombstoneIfUnknown?: boolean }): Promise<ErasureReceipt | undefined>;
  /** When the user was last erased, if ever. */
  erasedAt(userId: string): Promise<string | undefined>;
  /** Every template (optionally of one group), with embeddings: the matching gallery. */
  gallery(group?: string): Promise<GalleryEntry[]>;
  /** The gallery a page at a time (ordered by template_id), so a million templates load in bounded memory. */
  galleryPage(query: { cursor?: string; limit: number }): Promise<Page<GalleryEntry>>;
  /** One user's templates with embeddings (empty when the user is gone). */
  userTemplates(userId: string): Promise<GalleryEntry[]>;
  /** Exact embeddings of the given templates (missing ids are left out). */
  templateEmbeddings(templateIds: string[]): Promise<Map<string, Float32Array>>;

  createJob(job: BatchJob): Promise<void>;
  getJob(jobId: string): Promise<BatchJob | undefined>;
  /** Sets the fields given (undefined ones are left as they are). */
  updateJob(jobId: string, patch: BatchJobPatch): Promise<void>;
  /** Upsert by (job_id, index): a retried item overwrites, never duplicates. */
  putItemResult(result: ItemResult): Promise<void>;
  getItemResult(jobId: string, index: number): Promise<ItemResult | undefined>;
  /** Results ordered by index, after `cursor`. */
  /** In index order; with `outcome`, only the items that ended with it. */
  listItemResults(
    jobId: string,
    query: { cursor?: string; limit: number; outcome?: string },
  ): Promise<Page<ItemResult>>;
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
  /**
   * Releases a claim whose request failed before creating anything, so a retry can proceed.
   * With `createdAt`, only the claim made at that moment (an abandoned one being taken over: a
   * newer claim of the key is never removed).
   */
  releaseIdempotencyKey(key: string, createdAt?: string): Promise<void>;

  /**
   * Records a sighting with de-duplication: sightings of one user by one camera whose times
   * are within `windowMs` of each other (chained) form one attendance record, whatever order
   * they arrive in. Atomic; recording the same sighting_id again changes nothing. The record
   * keeps the evidence counters (sightings, strong_sightings, window_closes_at) its status is
   * derived from when read (src/shared/evidence.ts), and the best sighting's margin and thresholds.
   */
  recordSighting(sighting: Sighting, windowMs: number): Promise<{ attendance_id: string }>;
  listAttendance(query: AttendanceQuery): Promise<Page<AttendanceRecord>>;
  /**
   * The match records holding a sighting of batch `jobId`, statuses judged at `now` (default
   * the current time), in (timestamp, attendance_id) order: a batch's webhook summary.
   */
  attendanceOfJob(jobId: string, now?: string): Promise<AttendanceRecord[]>;
  /**
   * Erasure: detaches the face-crop photos from a user's attendance records (the records, a
   * business log, stay) and returns their blob keys for deletion.
   */
  eraseAttendancePhotos(userId: string): Promise<string[]>;
  getAttendance(attendanceId: string): Promise<AttendanceRecord | undefined>;
  /**
   * Deletes these records and their sightings (retention of unknown faces); returns the blob
   * keys of every face crop they held, the best one and every other sighting's.
   */
  deleteAttendance(attendanceIds: string[]): Promise<string[]>;

  /** Unknown faces with embeddings (kind 'unknown' only), in (captured_at, sighting_id) order. */
  unknownSightings(query: UnknownSightingQuery): Promise<UnknownSighting[]>;
  /** Puts an unknown record into an unknown person. */
  setUnknownId(attendanceId: string, unknownId: string): Promise<void>;
  /**
   * An unknown person enrolled: its unknown records become match records of the user (their
   * embeddings dropped: they are templates now). Returns how many.
   */
  relabelUnknown(
    unknownId: string,
    user: { user_id: string; name: string; group: string | null },
  ): Promise<number>;
  /** Upsert by unknown_id. */
  putUnknownPerson(person: UnknownPerson): Promise<void>;
  getUnknownPerson(unknownId: string): Promise<UnknownPerson | undefined>;
  deleteUnknownPerson(unknownId: string): Promise<void>;
  /** In (first_seen, unknown_id) order; with camera_id, only those seen by that camera. */
  listUnknownPersons(query: {
    camera_id?: string;
    cursor?: string;
    limit: number;
  }): Promise<Page<UnknownPerson>>;

  addWebhookEndpoint(endpoint: WebhookEndpoint): Promise<void>;
  getWebhookEndpoint(endpointId: string): Promise<WebhookEndpoint | undefined>;
  /** Every registered endpoint, oldest first (disabled ones included). */
  listWebhookEndpoints(): Promise<WebhookEndpoint[]>;
  /** true when it existed. */
  deleteWebhookEndpoint(endpointId: string): Promise<boolean>;
  disableWebhookEndpoint(endpointId: string, at: string): Promise<void>;

  addWebhookDelivery(delivery: WebhookDelivery): Promise<void>;
  listWebhookDeliveries(jobId: string): Promise<WebhookDelivery[]>;
}
