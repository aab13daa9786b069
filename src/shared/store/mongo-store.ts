import { randomUUID } from 'node:crypto';
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
  BatchJob,
  EnrollOutcome,
  ErasureReceipt,
  GalleryEntry,
  IdempotencyRecord,
  ItemResult,
  Page,
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

const NO_ID = { projection: { _id: 0 } } as const;
const now = () => new Date().toISOString();
const isDuplicateKey = (err: unknown) => err instanceof MongoServerError && err.code === 11000;
const toBinary = (v: Float32Array) => new Binary(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
/**
 * Copies the bytes into a fresh, exactly sized (hence 4-byte aligned) ArrayBuffer before viewing
 * them as floats. Not `.slice()`: value() may be a Node Buffer, whose slice shares the (pooled) memory.
 */
const fromBinary = (b: Binary) => new Float32Array(new Uint8Array(b.value()).buffer);

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
  }

  /** createIndex is a no-op when the index exists; one at a time, so collections are created once. */
  async init(): Promise<void> {
    await this.users.createIndex({ user_id: 1 }, { unique: true });
    await this.users.createIndex({ group: 1, user_id: 1 });
    await this.templates.createIndex({ user_id: 1, photo_sha256: 1 }, { unique: true });
    await this.erasures.createIndex({ user_id: 1 }, { unique: true });
    await this.jobs.createIndex({ job_id: 1 }, { unique: true });
    await this.items.createIndex({ job_id: 1, index: 1 }, { unique: true });
    await this.idempotency.createIndex({ key: 1 }, { unique: true });
    await this.deliveries.createIndex({ delivery_id: 1, attempt: 1 }, { unique: true });
    await this.deliveries.createIndex({ job_id: 1, at: 1 });
    // Not used yet: attendance events (next feature).
    await this.db.collection('attendance').createIndex({ user_id: 1, timestamp: 1 });
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
        $set: {
          name: user.name,
          group: user.group,
          metadata: JSON.stringify(user.metadata),
          updated_at: at,
        },
        $setOnInsert: { enrolled_at: at },
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
