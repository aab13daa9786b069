import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import * as attendance from './sqlite/attendance.js';
import * as jobs from './sqlite/jobs.js';
import { migrate, SCHEMA } from './sqlite/schema.js';
import * as unknowns from './sqlite/unknowns.js';
import * as users from './sqlite/users.js';
import * as endpoints from './sqlite/webhook-endpoints.js';
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

/**
 * The embedded default: one SQLite file (WAL, so the API reads while workers write; busy
 * timeout, so concurrent writers from several processes wait instead of failing).
 *
 * The queries live in ./sqlite/ by concern (users and templates, attendance, jobs); each method
 * here hands them the database.
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  private readonly db: Database.Database;

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('synchronous = NORMAL');
  }

  init(): Promise<void> {
    this.db.exec(SCHEMA);
    migrate(this.db);
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.db.close();
    return Promise.resolve();
  }

  ping(): Promise<void> {
    this.db.prepare('SELECT 1').get();
    return Promise.resolve();
  }

  enroll(
    user: UserInput,
    t: TemplateInput,
    mode: 'add' | 'replace',
    acceptedAt?: string,
  ): Promise<EnrollOutcome | 'ERASED'> {
    return users.enroll(this.db, user, t, mode, acceptedAt);
  }

  getUser(userId: string): Promise<User | undefined> {
    return users.getUser(this.db, userId);
  }

  listUsers(q: { group?: string; cursor?: string; limit: number }): Promise<Page<User>> {
    return users.listUsers(this.db, q);
  }

  listGroups(): Promise<GroupSummary[]> {
    return users.listGroups(this.db);
  }

  deleteUser(userId: string, opts?: { tombstoneIfUnknown?: boolean }): Promise<ErasureReceipt | undefined> {
    return users.deleteUser(this.db, userId, opts?.tombstoneIfUnknown ?? true);
  }

  erasedAt(userId: string): Promise<string | undefined> {
    return users.erasedAt(this.db, userId);
  }

  gallery(group?: string): Promise<GalleryEntry[]> {
    return users.gallery(this.db, group);
  }

  galleryPage(q: { cursor?: string; limit: number }): Promise<Page<GalleryEntry>> {
    return users.galleryPage(this.db, q);
  }

  userTemplates(userId: string): Promise<GalleryEntry[]> {
    return users.userTemplates(this.db, userId);
  }

  templateEmbeddings(templateIds: string[]): Promise<Map<string, Float32Array>> {
    return users.templateEmbeddings(this.db, templateIds);
  }

  recordSighting(s: Sighting, windowMs: number): Promise<{ attendance_id: string }> {
    return attendance.recordSighting(this.db, s, windowMs);
  }

  listAttendance(q: AttendanceQuery): Promise<Page<AttendanceRecord>> {
    return attendance.listAttendance(this.db, q);
  }

  attendanceOfJob(jobId: string, now?: string): Promise<AttendanceRecord[]> {
    return attendance.attendanceOfJob(this.db, jobId, now);
  }

  eraseAttendancePhotos(userId: string): Promise<string[]> {
    return attendance.eraseAttendancePhotos(this.db, userId);
  }

  getAttendance(id: string): Promise<AttendanceRecord | undefined> {
    return unknowns.getAttendance(this.db, id);
  }

  deleteAttendance(ids: string[]): Promise<string[]> {
    return unknowns.deleteAttendance(this.db, ids);
  }

  unknownSightings(q: UnknownSightingQuery): Promise<UnknownSighting[]> {
    return unknowns.unknownSightings(this.db, q);
  }

  setUnknownId(attendanceId: string, unknownId: string): Promise<void> {
    return unknowns.setUnknownId(this.db, attendanceId, unknownId);
  }

  relabelUnknown(id: string, user: { user_id: string; name: string; group: string | null }): Promise<number> {
    return unknowns.relabelUnknown(this.db, id, user);
  }

  putUnknownPerson(p: UnknownPerson): Promise<void> {
    return unknowns.putUnknownPerson(this.db, p);
  }

  getUnknownPerson(id: string): Promise<UnknownPerson | undefined> {
    return unknowns.getUnknownPerson(this.db, id);
  }

  deleteUnknownPerson(id: string): Promise<void> {
    return unknowns.deleteUnknownPerson(this.db, id);
  }

  listUnknownPersons(q: {
    camera_id?: string;
    cursor?: string;
    limit: number;
  }): Promise<Page<UnknownPerson>> {
    return unknowns.listUnknownPersons(this.db, q);
  }

  createJob(job: BatchJob): Promise<void> {
    return jobs.createJob(this.db, job);
  }

  getJob(jobId: string): Promise<BatchJob | undefined> {
    return jobs.getJob(this.db, jobId);
  }

  updateJob(jobId: string, patch: BatchJobPatch): Promise<void> {
    return jobs.updateJob(this.db, jobId, patch);
  }

  putItemResult(r: ItemResult): Promise<void> {
    return jobs.putItemResult(this.db, r);
  }

  getItemResult(jobId: string, index: number): Promise<ItemResult | undefined> {
    return jobs.getItemResult(this.db, jobId, index);
  }

  listItemResults(
    jobId: string,
    q: { cursor?: string; limit: number; outcome?: string },
  ): Promise<Page<ItemResult>> {
    return jobs.listItemResults(this.db, jobId, q);
  }

  countItemResults(jobId: string): Promise<{ done: number; failed: number }> {
    return jobs.countItemResults(this.db, jobId);
  }

  claimIdempotencyKey(
    key: string,
    bodySha256: string,
  ): Promise<{ claimed: true } | { claimed: false; record: IdempotencyRecord }> {
    return jobs.claimIdempotencyKey(this.db, key, bodySha256);
  }

  setIdempotencyResponse(key: string, response: { status: number; body: unknown }): Promise<void> {
    return jobs.setIdempotencyResponse(this.db, key, response);
  }

  releaseIdempotencyKey(key: string, createdAt?: string): Promise<void> {
    return jobs.releaseIdempotencyKey(this.db, key, createdAt);
  }

  addWebhookEndpoint(endpoint: WebhookEndpoint): Promise<void> {
    return endpoints.addWebhookEndpoint(this.db, endpoint);
  }

  getWebhookEndpoint(endpointId: string): Promise<WebhookEndpoint | undefined> {
    return endpoints.getWebhookEndpoint(this.db, endpointId);
  }

  listWebhookEndpoints(): Promise<WebhookEndpoint[]> {
    return endpoints.listWebhookEndpoints(this.db);
  }

  deleteWebhookEndpoint(endpointId: string): Promise<boolean> {
    return endpoints.deleteWebhookEndpoint(this.db, endpointId);
  }

  disableWebhookEndpoint(endpointId: string, at: string): Promise<void> {
    return endpoints.disableWebhookEndpoint(this.db, endpointId, at);
  }

  addWebhookDelivery(d: WebhookDelivery): Promise<void> {
    return jobs.addWebhookDelivery(this.db, d);
  }

  listWebhookDeliveries(jobId: string): Promise<WebhookDelivery[]> {
    return jobs.listWebhookDeliveries(this.db, jobId);
  }
}
