import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import {
  Binary,
  GridFSBucket,
  MongoClient,
  MongoRuntimeError,
  MongoServerError,
  type Collection,
  type Db,
  type Filter,
  type GridFSFile,
} from 'mongodb';
import type { BlobStore } from './blobs.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import type { Persistence } from './index.js';
import type { Store } from './store.js';
import type {
  AttendanceQuery,
  AttendanceRecord,
  BatchJob,
  EnrollOutcome,
  ErasureReceipt,
  GalleryEntry,
  IdempotencyRecord,
  ItemResult,
  Page,
  Sighting,
  TemplateInput,
  TemplateSummary,
  User,
  UserInput,
  WebhookDelivery,
} from './types.js';

/*
 * Document shapes. Free-form objects whose keys come from callers (user metadata, item detail,
 * idempotent responses) are stored as JSON strings, exactly as SqliteStore stores them: the
 * round trip is then the same JSON round trip in both stores, and keys such as `$where` or `a.b`
 * (which MongoDB rejects or treats specially in documents) cannot make a write fail.
 * Every read uses a projection without `_id` and maps the fields explicitly, so results have
 * exactly the shapes of types.ts.
 */
interface UserDoc {
  user_id: string;
  name: string;
  group: string | null;
  metadata: string; // JSON
  enrolled_at: string;
  updated_at: string;
}
interface TemplateDoc {
  template_id: string;
  user_id: string;
  model: string;
  /** The Float32 bytes (little-endian, as in memory), BSON binary subtype 0. */
  embedding: Binary;
  detection_score: number;
  quality: TemplateInput['quality'];
  photo_sha256: string;
  created_at: string;
}
interface ErasureDoc {
  user_id: string;
  erased_at: string;
}
type JobDoc = BatchJob;
interface ItemDoc {
  job_id: string;
  index: number;
  ref: string | null;
  outcome: string;
  ok: boolean;
  detail: string; // JSON
  finished_at: string;
}
interface IdempotencyDoc {
  key: string;
  body_sha256: string;
  response: string | null; // JSON
  created_at: string;
}
type DeliveryDoc = WebhookDelivery;
interface AttendanceDoc {
  attendance_id: string;
  kind: AttendanceRecord['kind'];
  user_id: string | null;
  name: string | null;
  group: string | null;
  camera_id: string;
  timestamp: string;
  last_seen: string;
  sightings: number;
  similarity_score: number | null;
  distance: number | null;
  bbox: AttendanceRecord['bbox'];
  thumbnail: string | null;
  /** Unknown faces only: Float32 bytes, as for templates. */
  embedding: Binary | null;
  job_id: string;
}
/** One recorded sighting: `attendance_id` is null from its claim until it is linked to its record. */
interface SightingDoc {
  sighting_id: string;
  attendance_id: string | null;
}
/** What a sighting, or an absorbed record, adds to an attendance record (see `fold`). */
type Contribution = Pick<
  AttendanceDoc,
  'timestamp' | 'last_seen' | 'sightings' | 'similarity_score' | 'distance' | 'bbox' | 'thumbnail'
>;

const NO_ID = { projection: { _id: 0 } } as const;
const now = () => new Date().toISOString();
const isDuplicateKey = (err: unknown) => err instanceof MongoServerError && err.code === 11000;
const toBinary = (v: Float32Array) => new Binary(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
/**
 * Copies the bytes into a fresh, exactly sized (hence 4-byte aligned) ArrayBuffer before viewing
 * them as floats. Not `.slice()`: value() may be a Node Buffer, whose slice shares the (pooled) memory.
 */
const fromBinary = (b: Binary) => new Float32Array(new Uint8Array(b.value()).buffer);
/** As in SqliteStore: times are compared as strings, so every stored and queried time has one form. */
function isoTime(value: string): string {
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new RangeError(`invalid time: ${value}`);
  return new Date(t).toISOString();
}
/** The id of the record a sighting starts, derived from its sighting_id (UUID-shaped). */
function recordIdFor(sightingId: string): string {
  const h = createHash('sha256').update(`attendance:${sightingId}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
/** Attempts of recordSighting's find-and-fold before giving up (only concurrent merges need a second). */
const MAX_FOLD_ATTEMPTS = 5;
/** templateEmbeddings asks for at most this many ids per query. */
const IDS_PER_QUERY = 1000;

const toJob = (d: JobDoc): BatchJob => ({
  job_id: d.job_id,
  type: d.type,
  total: d.total,
  status: d.status,
  created_at: d.created_at,
  started_at: d.started_at,
  finished_at: d.finished_at,
  webhook_url: d.webhook_url,
  webhook_secret: d.webhook_secret,
});
const toItem = (d: ItemDoc): ItemResult => ({
  job_id: d.job_id,
  index: d.index,
  ref: d.ref,
  outcome: d.outcome,
  ok: d.ok,
  detail: JSON.parse(d.detail) as Record<string, unknown>,
  finished_at: d.finished_at,
});
const toDelivery = (d: DeliveryDoc): WebhookDelivery => ({
  delivery_id: d.delivery_id,
  job_id: d.job_id,
  event: d.event,
  url: d.url,
  attempt: d.attempt,
  status_code: d.status_code,
  error: d.error,
  delivered: d.delivered,
  at: d.at,
});
const toAttendance = (d: AttendanceDoc): AttendanceRecord => ({
  attendance_id: d.attendance_id,
  kind: d.kind,
  user_id: d.user_id,
  name: d.name,
  group: d.group,
  camera_id: d.camera_id,
  timestamp: d.timestamp,
  last_seen: d.last_seen,
  sightings: d.sightings,
  similarity_score: d.similarity_score,
  distance: d.distance,
  bbox: { x: d.bbox.x, y: d.bbox.y, width: d.bbox.width, height: d.bbox.height },
  thumbnail: d.thumbnail,
  embedding: d.embedding ? Array.from(fromBinary(d.embedding)) : null,
  job_id: d.job_id,
});
const toSummary = (t: TemplateDoc): TemplateSummary => ({
  template_id: t.template_id,
  model: t.model,
  detection_score: t.detection_score,
  quality: t.quality,
  photo_sha256: t.photo_sha256,
  created_at: t.created_at,
});

/**
 * MongoDB (when MONGODB_URL is set): the same contracts as SqliteStore, which is the reference.
 *
 * No multi-document transactions: they need a replica set, and a standalone mongod is a supported
 * deployment. Each write below is one atomic single-document operation (or an idempotent
 * deleteMany), made in the same order as SqliteStore's transaction; where SQLite relies on the
 * transaction for an answer, the comment says what gives it here instead.
 */
export class MongoStore implements Store {
  readonly kind = 'mongodb' as const;
  private readonly users: Collection<UserDoc>;
  private readonly templates: Collection<TemplateDoc>;
  private readonly erasures: Collection<ErasureDoc>;
  private readonly jobs: Collection<JobDoc>;
  private readonly items: Collection<ItemDoc>;
  private readonly idempotency: Collection<IdempotencyDoc>;
  private readonly deliveries: Collection<DeliveryDoc>;
  private readonly attendance: Collection<AttendanceDoc>;
  private readonly sightings: Collection<SightingDoc>;

  /** `onClose` releases the connection (openMongo passes the client's close). */
  constructor(
    private readonly db: Db,
    private readonly onClose: () => Promise<void> = () => Promise.resolve(),
  ) {
    this.users = db.collection('users');
    this.templates = db.collection('templates');
    this.erasures = db.collection('erasures');
    this.jobs = db.collection('jobs');
    this.items = db.collection('item_results');
    this.idempotency = db.collection('idempotency');
    this.deliveries = db.collection('webhook_deliveries');
    this.attendance = db.collection('attendance');
    this.sightings = db.collection('sightings');
  }

  /** createIndex is a no-op when the index exists; one at a time, so collections are created once. */
  async init(): Promise<void> {
    await this.users.createIndex({ user_id: 1 }, { unique: true });
    await this.users.createIndex({ group: 1, user_id: 1 });
    await this.templates.createIndex({ user_id: 1, photo_sha256: 1 }, { unique: true });
    // galleryPage sorts by it: without an index a million templates exceed the in-memory sort limit.
    await this.templates.createIndex({ template_id: 1 }, { unique: true });
    await this.erasures.createIndex({ user_id: 1 }, { unique: true });
    await this.jobs.createIndex({ job_id: 1 }, { unique: true });
    await this.items.createIndex({ job_id: 1, index: 1 }, { unique: true });
    await this.idempotency.createIndex({ key: 1 }, { unique: true });
    await this.deliveries.createIndex({ delivery_id: 1, attempt: 1 }, { unique: true });
    await this.deliveries.createIndex({ job_id: 1, at: 1 });
    await this.attendance.createIndex({ attendance_id: 1 }, { unique: true });
    await this.attendance.createIndex({ user_id: 1, camera_id: 1, timestamp: 1 });
    await this.attendance.createIndex({ timestamp: 1, attendance_id: 1 });
    await this.sightings.createIndex({ sighting_id: 1 }, { unique: true });
    await this.sightings.createIndex({ attendance_id: 1 });
  }

  close(): Promise<void> {
    return this.onClose();
  }

  async enroll(user: UserInput, t: TemplateInput, mode: 'add' | 'replace'): Promise<EnrollOutcome> {
    const at = now();
    // The upsert says whether the user existed: upsertedCount is 1 exactly when this call
    // inserted the document. Two concurrent enrolls of a new user: the unique index lets only one
    // insert; MongoDB (4.2+) retries the other's upsert as an update, so it reports UPDATED.
    const { upsertedCount } = await this.users.updateOne(
      { user_id: user.user_id },
      {
        // A re-enrollment without a group keeps the user's group (SQLite: COALESCE).
        $set: {
          name: user.name,
          ...(user.group !== null ? { group: user.group } : {}),
          metadata: JSON.stringify(user.metadata),
          updated_at: at,
        },
        $setOnInsert: { enrolled_at: at, ...(user.group === null ? { group: null } : {}) },
      },
      { upsert: true },
    );
    if (mode === 'replace') {
      await this.templates.deleteMany({ user_id: user.user_id, photo_sha256: { $ne: t.photo_sha256 } });
    }
    // The same photo of the same user is one template; re-enrolling it (e.g. after a model
    // upgrade) refreshes its embedding instead of adding a second one.
    await this.templates.updateOne(
      { user_id: user.user_id, photo_sha256: t.photo_sha256 },
      {
        $set: {
          model: t.model,
          embedding: toBinary(t.embedding),
          detection_score: t.detection_score,
          quality: t.quality,
        },
        $setOnInsert: { template_id: randomUUID(), created_at: at },
      },
      { upsert: true },
    );
    return upsertedCount === 1 ? 'ENROLLED' : 'UPDATED';
  }

  async getUser(userId: string): Promise<User | undefined> {
    const doc = await this.users.findOne({ user_id: userId }, NO_ID);
    if (!doc) return undefined;
    const [user] = await this.withTemplates([doc]);
    return user;
  }

  async listUsers(q: { group?: string; cursor?: string; limit: number }): Promise<Page<User>> {
    const after = decodeCursor(q.cursor) ?? '';
    const filter: Filter<UserDoc> =
      q.group === undefined ? { user_id: { $gt: after } } : { group: q.group, user_id: { $gt: after } };
    const docs = await this.users
      .find(filter, NO_ID)
      .sort({ user_id: 1 })
      .limit(q.limit + 1)
      .toArray();
    const page = docs.slice(0, q.limit);
    const last = page[page.length - 1];
    return {
      items: await this.withTemplates(page),
      next_cursor: docs.length > q.limit && last ? encodeCursor(last.user_id) : null,
    };
  }

  async deleteUser(userId: string): Promise<ErasureReceipt | undefined> {
    const at = now();
    // Tombstone first (as in SQLite, also for a user that does not exist yet), then the data.
    await this.erasures.updateOne({ user_id: userId }, { $set: { erased_at: at } }, { upsert: true });
    const templates = await this.templates.deleteMany({ user_id: userId });
    const users = await this.users.deleteOne({ user_id: userId });
    return users.deletedCount === 0
      ? undefined
      : { user_id: userId, templates_erased: templates.deletedCount, erased_at: at };
  }

  async erasedAt(userId: string): Promise<string | undefined> {
    const doc = await this.erasures.findOne({ user_id: userId }, NO_ID);
    return doc?.erased_at;
  }

  /**
   * Templates joined with their users (an inner join, as in SQLite: a template whose user is gone,
   * left by an enroll racing a delete, is not part of the gallery).
   */
  async gallery(group?: string): Promise<GalleryEntry[]> {
    const users = await this.users
      .find(group === undefined ? {} : { group }, { projection: { _id: 0, user_id: 1, name: 1, group: 1 } })
      .toArray();
    const byId = new Map(users.map((u) => [u.user_id, u]));
    const templates = await this.templates
      .find(group === undefined ? {} : { user_id: { $in: [...byId.keys()] } }, {
        projection: { _id: 0, template_id: 1, user_id: 1, embedding: 1 },
      })
      .toArray();
    return templates.flatMap((t) => {
      const u = byId.get(t.user_id);
      return u
        ? [
            {
              user_id: u.user_id,
              name: u.name,
              group: u.group,
              template_id: t.template_id,
              embedding: fromBinary(t.embedding),
            },
          ]
        : [];
    });
  }

  /**
   * Templates after the cursor, joined with their users in the same pipeline before the limit:
   * the same inner join, page by page, as SQLite's (a template whose user is gone is skipped, not
   * counted). Uses the template_id index for the match and sort, users' user_id index for the join.
   */
  async galleryPage(q: { cursor?: string; limit: number }): Promise<Page<GalleryEntry>> {
    const rows = await this.templates
      .aggregate<{
        template_id: string;
        embedding: Binary;
        user: Pick<UserDoc, 'user_id' | 'name' | 'group'>;
      }>([
        { $match: { template_id: { $gt: decodeCursor(q.cursor) ?? '' } } },
        { $sort: { template_id: 1 } },
        { $lookup: { from: 'users', localField: 'user_id', foreignField: 'user_id', as: 'user' } },
        { $unwind: '$user' },
        { $limit: q.limit + 1 },
        {
          $project: {
            _id: 0,
            template_id: 1,
            embedding: 1,
            'user.user_id': 1,
            'user.name': 1,
            'user.group': 1,
          },
        },
      ])
      .toArray();
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    return {
      items: page.map((r) => ({
        user_id: r.user.user_id,
        name: r.user.name,
        group: r.user.group,
        template_id: r.template_id,
        embedding: fromBinary(r.embedding),
      })),
      next_cursor: rows.length > q.limit && last ? encodeCursor(last.template_id) : null,
    };
  }

  async userTemplates(userId: string): Promise<GalleryEntry[]> {
    const user = await this.users.findOne({ user_id: userId }, NO_ID);
    if (!user) return [];
    const templates = await this.templates
      .find({ user_id: userId }, { projection: { _id: 0, template_id: 1, embedding: 1 } })
      .sort({ template_id: 1 })
      .toArray();
    return templates.map((t) => ({
      user_id: user.user_id,
      name: user.name,
      group: user.group,
      template_id: t.template_id,
      embedding: fromBinary(t.embedding),
    }));
  }

  async templateEmbeddings(templateIds: string[]): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    for (let i = 0; i < templateIds.length; i += IDS_PER_QUERY) {
      const docs = await this.templates
        .find(
          { template_id: { $in: templateIds.slice(i, i + IDS_PER_QUERY) } },
          { projection: { _id: 0, template_id: 1, embedding: 1 } },
        )
        .toArray();
      for (const d of docs) out.set(d.template_id, fromBinary(d.embedding));
    }
    return out;
  }

  async createJob(job: BatchJob): Promise<void> {
    // A copy: insertOne adds `_id` to the object it is given.
    await this.jobs.insertOne(toJob(job));
  }

  async getJob(jobId: string): Promise<BatchJob | undefined> {
    const doc = await this.jobs.findOne({ job_id: jobId }, NO_ID);
    return doc ? toJob(doc) : undefined;
  }

  async updateJob(
    jobId: string,
    patch: Partial<Pick<BatchJob, 'status' | 'started_at' | 'finished_at'>>,
  ): Promise<void> {
    const set: Partial<Pick<BatchJob, 'status' | 'started_at' | 'finished_at'>> = {};
    if (patch.status !== undefined) set.status = patch.status;
    if (patch.started_at !== undefined) set.started_at = patch.started_at;
    if (patch.finished_at !== undefined) set.finished_at = patch.finished_at;
    if (Object.keys(set).length > 0) await this.jobs.updateOne({ job_id: jobId }, { $set: set });
  }

  async putItemResult(r: ItemResult): Promise<void> {
    await this.items.replaceOne(
      { job_id: r.job_id, index: r.index },
      {
        job_id: r.job_id,
        index: r.index,
        ref: r.ref,
        outcome: r.outcome,
        ok: r.ok,
        detail: JSON.stringify(r.detail),
        finished_at: r.finished_at,
      },
      { upsert: true },
    );
  }

  async getItemResult(jobId: string, index: number): Promise<ItemResult | undefined> {
    const doc = await this.items.findOne({ job_id: jobId, index }, NO_ID);
    return doc ? toItem(doc) : undefined;
  }

  async listItemResults(jobId: string, q: { cursor?: string; limit: number }): Promise<Page<ItemResult>> {
    const after = Number(decodeCursor(q.cursor) ?? -1);
    // SQLite binds NaN as NULL, so `idx > NULL` matches nothing: an unreadable cursor is an empty page.
    if (Number.isNaN(after)) return { items: [], next_cursor: null };
    const docs = await this.items
      .find({ job_id: jobId, index: { $gt: after } }, NO_ID)
      .sort({ index: 1 })
      .limit(q.limit + 1)
      .toArray();
    const page = docs.slice(0, q.limit);
    const last = page[page.length - 1];
    return {
      items: page.map(toItem),
      next_cursor: docs.length > q.limit && last ? encodeCursor(last.index) : null,
    };
  }

  async countItemResults(jobId: string): Promise<{ done: number; failed: number }> {
    const [row] = await this.items
      .aggregate<{ done: number; failed: number }>([
        { $match: { job_id: jobId } },
        { $group: { _id: null, done: { $sum: 1 }, failed: { $sum: { $cond: ['$ok', 0, 1] } } } },
      ])
      .toArray();
    return { done: row?.done ?? 0, failed: row?.failed ?? 0 };
  }

  async claimIdempotencyKey(
    key: string,
    bodySha256: string,
  ): Promise<{ claimed: true } | { claimed: false; record: IdempotencyRecord }> {
    try {
      // The unique index on `key` makes exactly one concurrent insert succeed.
      await this.idempotency.insertOne({ key, body_sha256: bodySha256, response: null, created_at: now() });
      return { claimed: true };
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
    const doc = await this.idempotency.findOne({ key }, NO_ID);
    if (!doc) return this.claimIdempotencyKey(key, bodySha256); // released in between
    return {
      claimed: false,
      record: {
        key: doc.key,
        body_sha256: doc.body_sha256,
        response: doc.response ? (JSON.parse(doc.response) as IdempotencyRecord['response']) : null,
        created_at: doc.created_at,
      },
    };
  }

  async setIdempotencyResponse(key: string, response: { status: number; body: unknown }): Promise<void> {
    await this.idempotency.updateOne({ key }, { $set: { response: JSON.stringify(response) } });
  }

  async releaseIdempotencyKey(key: string): Promise<void> {
    await this.idempotency.deleteOne({ key, response: null });
  }

  /**
   * Attendance de-duplication, with the semantics of SqliteStore.recordSighting (the reference),
   * but without its transaction (a standalone mongod has none). The steps:
   *
   * 1. Claim the sighting_id: insert `{sighting_id, attendance_id: null}` (unique index). If it is
   *    already there and linked (step 4 done), this is a repeat: return its attendance_id.
   * 2. An unknown face starts its own record. Its id is derived from the sighting_id, so a retry
   *    of an attempt that stopped after the insert finds the record there instead of adding one.
   * 3. A match: find this user's and camera's records within the window of the sighting (by the
   *    same interval test as SQLite), ordered by (timestamp, attendance_id). None: insert a new
   *    record (id derived as above). Otherwise the first is kept: each later one is removed with
   *    findOneAndDelete (so only one writer can absorb it) and folded into the kept one, its
   *    sightings re-linked; then the sighting itself is folded in, unless one of the records found
   *    is the one this sighting started (a retry of an attempt that stopped after starting it).
   * 4. Link the sighting to the record it ended in.
   *
   * Each fold is ONE atomic pipeline update ($min/$max of the times, + the count, the best
   * sighting's fields when its similarity is strictly higher), so concurrent folds into one record
   * never lose each other's writes.
   *
   * With a single writer this gives exactly SQLite's records. What it does NOT guarantee:
   * - Concurrent writers (two workers with frames of one user and camera at once) can both find no
   *   record and each start one: two records that should be one, until a later sighting in the
   *   window of both merges them. A record being absorbed while another writer folds into it is
   *   handled: the fold matches nothing and the find-and-fold is retried (an absorbed record whose
   *   fold fails is put back first). A sighting linked just after its record was absorbed keeps the
   *   old attendance_id, which only a repeat of that sighting_id would return.
   * - An attempt that stops midway (crash, lost connection) leaves the sighting claimed but not
   *   linked; its retry redoes steps 2-4. For a match folded into an existing record (or whose
   *   record was absorbed since), this counts the sighting twice (`sightings` one too high; times
   *   and best sighting are unaffected); an absorbed record removed but not yet folded is lost. The same holds for two concurrent attempts of one
   *   sighting_id (a retried job overlapping the original), which BullMQ's job lock makes rare.
   */
  async recordSighting(s: Sighting, windowMs: number): Promise<{ attendance_id: string }> {
    const at = isoTime(s.captured_at);
    try {
      await this.sightings.insertOne({ sighting_id: s.sighting_id, attendance_id: null });
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      const prev = await this.sightings.findOne({ sighting_id: s.sighting_id }, NO_ID);
      if (prev?.attendance_id) return { attendance_id: prev.attendance_id };
      // Claimed but never linked: an earlier attempt stopped midway. Redo it (see above).
    }
    const attendance_id = await this.placeSighting(s, at, windowMs);
    await this.sightings.updateOne({ sighting_id: s.sighting_id }, { $set: { attendance_id } });
    return { attendance_id };
  }

  async eraseAttendancePhotos(userId: string): Promise<string[]> {
    const docs = await this.attendance
      .find({ user_id: userId, thumbnail: { $ne: null } }, { projection: { _id: 0, thumbnail: 1 } })
      .toArray();
    await this.attendance.updateMany({ user_id: userId }, { $set: { thumbnail: null } });
    return docs.map((d) => d.thumbnail).filter((t): t is string => typeof t === 'string');
  }

  async listAttendance(q: AttendanceQuery): Promise<Page<AttendanceRecord>> {
    const and: Filter<AttendanceDoc>[] = [];
    if (q.user_id !== undefined) and.push({ user_id: q.user_id });
    if (q.camera_id !== undefined) and.push({ camera_id: q.camera_id });
    if (q.group !== undefined) and.push({ group: q.group });
    if (q.kind !== undefined) and.push({ kind: q.kind });
    if (q.from !== undefined) and.push({ timestamp: { $gte: isoTime(q.from) } });
    if (q.to !== undefined) and.push({ timestamp: { $lte: isoTime(q.to) } });
    const after = decodeCursor(q.cursor);
    if (after) {
      const [ts = '', id = ''] = after.split('|');
      and.push({ $or: [{ timestamp: { $gt: ts } }, { timestamp: ts, attendance_id: { $gt: id } }] });
    }
    const docs = await this.attendance
      .find(and.length ? { $and: and } : {}, NO_ID)
      .sort({ timestamp: 1, attendance_id: 1 })
      .limit(q.limit + 1)
      .toArray();
    const page = docs.slice(0, q.limit);
    const last = page[page.length - 1];
    return {
      items: page.map(toAttendance),
      next_cursor:
        docs.length > q.limit && last ? encodeCursor(`${last.timestamp}|${last.attendance_id}`) : null,
    };
  }

  /** Upsert by (delivery_id, attempt), as SQLite's INSERT OR REPLACE. */
  async addWebhookDelivery(d: WebhookDelivery): Promise<void> {
    await this.deliveries.replaceOne({ delivery_id: d.delivery_id, attempt: d.attempt }, toDelivery(d), {
      upsert: true,
    });
  }

  async listWebhookDeliveries(jobId: string): Promise<WebhookDelivery[]> {
    const docs = await this.deliveries.find({ job_id: jobId }, NO_ID).sort({ at: 1, attempt: 1 }).toArray();
    return docs.map(toDelivery);
  }

  /** recordSighting's steps 2 and 3: puts the sighting into a record; returns the record's id. */
  private async placeSighting(s: Sighting, at: string, windowMs: number): Promise<string> {
    const own: Contribution = {
      timestamp: at,
      last_seen: at,
      sightings: 1,
      similarity_score: s.similarity,
      distance: s.distance,
      bbox: { x: s.bbox.x, y: s.bbox.y, width: s.bbox.width, height: s.bbox.height },
      thumbnail: s.thumbnail,
    };
    const started: AttendanceDoc = {
      ...own,
      attendance_id: recordIdFor(s.sighting_id),
      kind: s.kind,
      user_id: s.user_id,
      name: s.name,
      group: s.group,
      camera_id: s.camera_id,
      embedding: s.embedding ? toBinary(s.embedding) : null,
      job_id: s.job_id,
    };
    if (s.kind === 'unknown') return this.startRecord(started);

    const t = Date.parse(at);
    for (let attempt = 1; attempt <= MAX_FOLD_ATTEMPTS; attempt++) {
      // Records this sighting chains onto: same user and camera, within the window of either end.
      const near = await this.attendance
        .find(
          {
            kind: 'match',
            user_id: s.user_id ?? '',
            camera_id: s.camera_id,
            timestamp: { $lte: new Date(t + windowMs).toISOString() },
            last_seen: { $gte: new Date(t - windowMs).toISOString() },
          },
          { projection: { _id: 0, attendance_id: 1 } },
        )
        .sort({ timestamp: 1, attendance_id: 1 })
        .toArray();
      const [keep, ...absorbed] = near;
      if (!keep) return this.startRecord(started);
      const counted = near.some((r) => r.attendance_id === started.attendance_id);
      let keepGone = false;
      for (const { attendance_id: id } of absorbed) {
        const doc = await this.attendance.findOneAndDelete({ attendance_id: id }, NO_ID);
        if (!doc) continue; // absorbed by a concurrent writer
        if (!(await this.fold(keep.attendance_id, doc))) {
          await this.attendance.insertOne(doc); // the kept record went meanwhile: put this one back
          keepGone = true;
          break;
        }
        await this.sightings.updateMany(
          { attendance_id: id },
          { $set: { attendance_id: keep.attendance_id } },
        );
      }
      if (keepGone) continue;
      if (counted || (await this.fold(keep.attendance_id, own))) return keep.attendance_id;
    }
    throw new Error(`recordSighting ${s.sighting_id}: its records kept changing; giving up`);
  }

  /** Inserts a new record; one already there under this (derived) id is a retry's, and is it. */
  private async startRecord(doc: AttendanceDoc): Promise<string> {
    try {
      await this.attendance.insertOne({ ...doc }); // a copy: insertOne adds `_id`
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
    return doc.attendance_id;
  }

  /**
   * Adds a sighting or an absorbed record to record `id` in one atomic update: earliest timestamp,
   * latest last_seen, summed count, and the best (strictly higher similarity) sighting's fields, so
   * on a tie the record keeps its own, as in SQLite. All expressions of a `$set` stage see the
   * document as it was before the update. Values are `$literal`, so no string is read as a field
   * path. False when the record is not there (absorbed by a concurrent writer).
   */
  private async fold(id: string, c: Contribution): Promise<boolean> {
    const better =
      c.similarity_score === null
        ? false
        : { $gt: [c.similarity_score, { $ifNull: ['$similarity_score', -Infinity] }] };
    const best = (field: keyof Contribution, value: unknown) => ({
      $cond: [better, { $literal: value }, `$${field}`],
    });
    const { matchedCount } = await this.attendance.updateOne({ attendance_id: id }, [
      {
        $set: {
          timestamp: { $min: ['$timestamp', { $literal: c.timestamp }] },
          last_seen: { $max: ['$last_seen', { $literal: c.last_seen }] },
          sightings: { $add: ['$sightings', c.sightings] },
          similarity_score: best('similarity_score', c.similarity_score),
          distance: best('distance', c.distance),
          bbox: best('bbox', c.bbox),
          thumbnail: best('thumbnail', c.thumbnail),
        },
      },
    ]);
    return matchedCount === 1;
  }

  /** Users with their template summaries (no embeddings), in one query for the whole page. */
  private async withTemplates(docs: UserDoc[]): Promise<User[]> {
    const templates = await this.templates
      .find(
        { user_id: { $in: docs.map((d) => d.user_id) } },
        { projection: { _id: 0, embedding: 0 }, sort: { created_at: 1, template_id: 1 } },
      )
      .toArray();
    return docs.map((d) => ({
      user_id: d.user_id,
      name: d.name,
      group: d.group,
      metadata: JSON.parse(d.metadata) as Record<string, unknown>,
      enrolled_at: d.enrolled_at,
      updated_at: d.updated_at,
      templates: templates.filter((t) => t.user_id === d.user_id).map(toSummary),
    }));
  }
}

/** FsBlobStore's key rule (blobs.ts), so a key valid for one blob store is valid for the other. */
const SAFE_KEY = /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_.-]+)*$/;
function checkKey(key: string): string {
  if (!SAFE_KEY.test(key) || key.includes('..')) throw new Error(`invalid blob key ${key}`);
  return key;
}
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Photos in GridFS (bucket `blobs`), the file name being the key. A GridFS file becomes visible
 * only when its files document is written, after all its chunks: a reader never sees half a photo.
 */
export class GridFsBlobStore implements BlobStore {
  private readonly bucket: GridFSBucket;

  constructor(db: Db) {
    this.bucket = new GridFSBucket(db, { bucketName: 'blobs' });
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    const upload = this.bucket.openUploadStream(checkKey(key));
    await pipeline(Readable.from([Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)]), upload);
    // Overwrite, as FsBlobStore's rename does: older files of this name go once the new one is there.
    await this.deleteFiles({ filename: key, _id: { $ne: upload.id } });
  }

  async get(key: string): Promise<Buffer | undefined> {
    const [file] = await this.bucket
      .find({ filename: checkKey(key) })
      .sort({ uploadDate: -1, _id: -1 })
      .limit(1)
      .toArray();
    if (!file) return undefined;
    try {
      return await buffer(this.bucket.openDownloadStream(file._id));
    } catch (err) {
      // Deleted while we read it (the item got its outcome): gone, as for FsBlobStore.
      if (await this.bucket.find({ _id: file._id }).hasNext()) throw err;
      return undefined;
    }
  }

  async delete(key: string): Promise<void> {
    await this.deleteFiles({ filename: checkKey(key) });
  }

  async deletePrefix(prefix: string): Promise<number> {
    const pattern = new RegExp(`^${escapeRegExp(checkKey(prefix))}/`);
    const names = await this.deleteFiles({ filename: { $regex: pattern } });
    return names.size;
  }

  /** Deletes the matching files (files document and chunks); returns the distinct keys deleted. */
  private async deleteFiles(filter: Filter<GridFSFile>): Promise<Set<string>> {
    const files = await this.bucket.find(filter, { projection: { _id: 1, filename: 1 } }).toArray();
    for (const f of files) {
      await this.bucket.delete(f._id).catch((err: unknown) => {
        // "File not found": a concurrent delete got there first, which is the same outcome.
        if (!(err instanceof MongoRuntimeError && /not found/i.test(err.message))) throw err;
      });
    }
    return new Set(files.map((f) => f.filename));
  }
}

/**
 * Connects to MONGODB_URL and prepares the collections. The database is the one named in the URL
 * (mongodb://host:27017/shelia); `dbName` overrides it (the tests use a fresh one per run).
 */
export async function openMongo(url: string, dbName?: string): Promise<Persistence> {
  const client = await new MongoClient(url).connect();
  const db = client.db(dbName);
  const store = new MongoStore(db, () => client.close());
  try {
    await store.init();
  } catch (err) {
    await client.close();
    throw err;
  }
  return { store, blobs: new GridFsBlobStore(db), close: () => store.close() };
}
