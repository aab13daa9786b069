import { MongoClient, type Db } from 'mongodb';
import type { Persistence } from './persistence.js';
import * as attendance from './mongo/attendance.js';
import { createIndexes, openCollections, type Collections } from './mongo/collections.js';
import * as gallery from './mongo/gallery.js';
import { GridFsBlobStore } from './mongo/gridfs-blobs.js';
import * as jobs from './mongo/jobs.js';
import * as sightings from './mongo/sightings.js';
import * as unknowns from './mongo/unknowns.js';
import * as users from './mongo/users.js';
import * as endpoints from './mongo/webhook-endpoints.js';
import type { Store } from './store.js';
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

export { GridFsBlobStore };

/**
 * MongoDB (when MONGODB_URL is set): the same contracts as SqliteStore, which is the reference.
 *
 * No multi-document transactions: they need a replica set, and a standalone mongod is a supported
 * deployment. Each write below is one atomic single-document operation (or an idempotent
 * deleteMany), made in the same order as SqliteStore's transaction; where SQLite relies on the
 * transaction for an answer, the comment says what gives it here instead.
 *
 * The operations live in ./mongo/ by concern (users, gallery, jobs, attendance, sightings); each
 * method here hands them the collections.
 */
export class MongoStore implements Store {
  readonly kind = 'mongodb' as const;
  private readonly collections: Collections;

  /** `onClose` releases the connection (openMongo passes the client's close). */
  constructor(
    private readonly db: Db,
    private readonly onClose: () => Promise<void> = () => Promise.resolve(),
  ) {
    this.collections = openCollections(db);
  }

  init(): Promise<void> {
    return createIndexes(this.collections);
  }

  close(): Promise<void> {
    return this.onClose();
  }

  async ping(): Promise<void> {
    await this.db.command({ ping: 1 });
  }

  enroll(
    user: UserInput,
    t: TemplateInput,
    mode: 'add' | 'replace',
    acceptedAt?: string,
  ): Promise<EnrollOutcome | 'ERASED'> {
    return users.enroll(this.collections, user, t, mode, acceptedAt);
  }

  getUser(userId: string): Promise<User | undefined> {
    return users.getUser(this.collections, userId);
  }

  listUsers(q: { group?: string; cursor?: string; limit: number }): Promise<Page<User>> {
    return users.listUsers(this.collections, q);
  }

  listGroups(): Promise<GroupSummary[]> {
    return users.listGroups(this.collections);
  }

  deleteUser(userId: string, opts?: { tombstoneIfUnknown?: boolean }): Promise<ErasureReceipt | undefined> {
    return users.deleteUser(this.collections, userId, opts?.tombstoneIfUnknown ?? true);
  }

  erasedAt(userId: string): Promise<string | undefined> {
    return users.erasedAt(this.collections, userId);
  }

  gallery(group?: string): Promise<GalleryEntry[]> {
    return gallery.gallery(this.collections, group);
  }

  galleryPage(q: { cursor?: string; limit: number }): Promise<Page<GalleryEntry>> {
    return gallery.galleryPage(this.collections, q);
  }

  userTemplates(userId: string): Promise<GalleryEntry[]> {
    return gallery.userTemplates(this.collections, userId);
  }

  templateEmbeddings(templateIds: string[]): Promise<Map<string, Float32Array>> {
    return gallery.templateEmbeddings(this.collections, templateIds);
  }

  createJob(job: BatchJob): Promise<void> {
    return jobs.createJob(this.collections, job);
  }

  getJob(jobId: string): Promise<BatchJob | undefined> {
    return jobs.getJob(this.collections, jobId);
  }

  updateJob(jobId: string, patch: BatchJobPatch): Promise<void> {
    return jobs.updateJob(this.collections, jobId, patch);
  }

  putItemResult(r: ItemResult): Promise<void> {
    return jobs.putItemResult(this.collections, r);
  }

  getItemResult(jobId: string, index: number): Promise<ItemResult | undefined> {
    return jobs.getItemResult(this.collections, jobId, index);
  }

  listItemResults(
    jobId: string,
    q: { cursor?: string; limit: number; outcome?: string },
  ): Promise<Page<ItemResult>> {
    return jobs.listItemResults(this.collections, jobId, q);
  }

  countItemResults(jobId: string): Promise<{ done: number; failed: number }> {
    return jobs.countItemResults(this.collections, jobId);
  }

  claimIdempotencyKey(
    key: string,
    bodySha256: string,
  ): Promise<{ claimed: true } | { claimed: false; record: IdempotencyRecord }> {
    return jobs.claimIdempotencyKey(this.collections, key, bodySha256);
  }

  setIdempotencyResponse(key: string, response: { status: number; body: unknown }): Promise<void> {
    return jobs.setIdempotencyResponse(this.collections, key, response);
  }

  releaseIdempotencyKey(key: string, createdAt?: string): Promise<void> {
    return jobs.releaseIdempotencyKey(this.collections, key, createdAt);
  }

  recordSighting(s: Sighting, windowMs: number): Promise<{ attendance_id: string }> {
    return sightings.recordSighting(this.collections, s, windowMs);
  }

  eraseAttendancePhotos(userId: string): Promise<string[]> {
    return attendance.eraseAttendancePhotos(this.collections, userId);
  }

  getAttendance(id: string): Promise<AttendanceRecord | undefined> {
    return unknowns.getAttendance(this.collections, id);
  }

  deleteAttendance(ids: string[]): Promise<string[]> {
    return unknowns.deleteAttendance(this.collections, ids);
  }

  unknownSightings(q: UnknownSightingQuery): Promise<UnknownSighting[]> {
    return unknowns.unknownSightings(this.collections, q);
  }

  setUnknownId(attendanceId: string, unknownId: string): Promise<void> {
    return unknowns.setUnknownId(this.collections, attendanceId, unknownId);
  }

  relabelUnknown(id: string, user: { user_id: string; name: string; group: string | null }): Promise<number> {
    return unknowns.relabelUnknown(this.collections, id, user);
  }

  putUnknownPerson(p: UnknownPerson): Promise<void> {
    return unknowns.putUnknownPerson(this.collections, p);
  }

  getUnknownPerson(id: string): Promise<UnknownPerson | undefined> {
    return unknowns.getUnknownPerson(this.collections, id);
  }

  deleteUnknownPerson(id: string): Promise<void> {
    return unknowns.deleteUnknownPerson(this.collections, id);
  }

  listUnknownPersons(q: {
    camera_id?: string;
    cursor?: string;
    limit: number;
  }): Promise<Page<UnknownPerson>> {
    return unknowns.listUnknownPersons(this.collections, q);
  }

  listAttendance(q: AttendanceQuery): Promise<Page<AttendanceRecord>> {
    return attendance.listAttendance(this.collections, q);
  }

  attendanceOfJob(jobId: string, now?: string): Promise<AttendanceRecord[]> {
    return attendance.attendanceOfJob(this.collections, jobId, now);
  }

  addWebhookEndpoint(endpoint: WebhookEndpoint): Promise<void> {
    return endpoints.addWebhookEndpoint(this.collections, endpoint);
  }

  getWebhookEndpoint(endpointId: string): Promise<WebhookEndpoint | undefined> {
    return endpoints.getWebhookEndpoint(this.collections, endpointId);
  }

  listWebhookEndpoints(): Promise<WebhookEndpoint[]> {
    return endpoints.listWebhookEndpoints(this.collections);
  }

  deleteWebhookEndpoint(endpointId: string): Promise<boolean> {
    return endpoints.deleteWebhookEndpoint(this.collections, endpointId);
  }

  disableWebhookEndpoint(endpointId: string, at: string): Promise<void> {
    return endpoints.disableWebhookEndpoint(this.collections, endpointId, at);
  }

  addWebhookDelivery(d: WebhookDelivery): Promise<void> {
    return jobs.addWebhookDelivery(this.collections, d);
  }

  listWebhookDeliveries(jobId: string): Promise<WebhookDelivery[]> {
    return jobs.listWebhookDeliveries(this.collections, jobId);
  }
}

/**
 * Connects to MONGODB_URL and prepares the collections. The database is the one named in the URL
 * (mongodb://host:27017/shelia); `dbName` overrides it (the tests use a fresh one per run).
 * `timeoutMs` bounds server selection and connecting (the driver waits 30 s by default), so a
 * dead or unreachable database fails a call in that time (503) instead of holding it.
 */
export async function openMongo(
  url: string,
  opts: { dbName?: string; timeoutMs?: number } = {},
): Promise<Persistence> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const client = await new MongoClient(url, {
    serverSelectionTimeoutMS: timeoutMs,
    connectTimeoutMS: timeoutMs,
    // A server that stops answering on an open connection (frozen, partitioned): a backstop
    // (the driver's per-operation timeoutMS has no effect in 7.x), long enough for the largest
    // single read here (a 5,000-template gallery page, one GridFS chunk batch).
    socketTimeoutMS: Math.max(10_000, 2 * timeoutMs),
  }).connect();
  const db = client.db(opts.dbName);
  const store = new MongoStore(db, () => client.close());
  try {
    await store.init();
  } catch (err) {
    await client.close();
    throw err;
  }
  const blobs = new GridFsBlobStore(db);
  // Every process start sweeps what a process that died mid-upload left (cheap: photos are
  // deleted once processed, so the bucket stays small).
  await blobs.sweepOrphanChunks();
  return { store, blobs, close: () => store.close() };
}
