import { MongoServerError, type Binary, type Collection, type Db } from 'mongodb';
import type {
  AttendanceRecord,
  BatchJob,
  TemplateInput,
  UnknownPerson,
  WebhookDelivery,
  WebhookEndpoint,
} from '../types.js';

/*
 * Document shapes. Free-form objects whose keys come from callers (user metadata, item detail,
 * idempotent responses) are stored as JSON strings, exactly as the SQLite store stores them: the
 * round trip is then the same JSON round trip in both stores, and keys such as `$where` or `a.b`
 * (which MongoDB rejects or treats specially in documents) cannot make a write fail.
 * Every read uses a projection without `_id` and maps the fields explicitly, so results have
 * exactly the shapes of types.ts.
 */
export interface UserDoc {
  user_id: string;
  name: string;
  group: string | null;
  metadata: string; // JSON
  enrolled_at: string;
  updated_at: string;
}
export interface TemplateDoc {
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
export interface ErasureDoc {
  user_id: string;
  erased_at: string;
}
/** `photos` and `failure_reason` came later: documents written before them lack both. */
export type JobDoc = Omit<BatchJob, 'photos' | 'failure_reason'> &
  Partial<Pick<BatchJob, 'photos' | 'failure_reason'>>;
export interface ItemDoc {
  job_id: string;
  index: number;
  ref: string | null;
  outcome: string;
  ok: boolean;
  detail: string; // JSON
  finished_at: string;
}
export interface IdempotencyDoc {
  key: string;
  body_sha256: string;
  response: string | null; // JSON
  created_at: string;
}
export type DeliveryDoc = WebhookDelivery;
export interface AttendanceDoc {
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
  /** The evidence fields came later: documents written before them lack them (see toAttendance). */
  confirming_sightings?: number;
  strong_sightings?: number;
  window_closes_at?: string;
  margin?: number | null;
  threshold?: number | null;
  confirm_threshold?: number | null;
  strong_threshold?: number | null;
  /** Unknown people (issue 8 §6): the person an unknown face was grouped into; when it was stored. */
  unknown_id?: string | null;
  recorded_at?: string;
  /** Ids a merge folded in whose link or delete may not have happened (RecordState.pending). */
  pending?: string[];
}
/** One recorded sighting: `attendance_id` is null from its claim until it is linked to its record. */
export interface SightingDoc {
  sighting_id: string;
  attendance_id: string | null;
  /** The batch it came from (absent in documents from before it was kept). */
  job_id?: string;
  /** Its face crop's blob key (erasure and expiry delete every sighting's, not only the best). */
  thumbnail?: string | null;
}
export type UnknownPersonDoc = UnknownPerson;
/** A short-lived exclusive claim on a key (see leases.ts); `expires_ms` is epoch milliseconds. */
export interface LeaseDoc {
  key: string;
  holder: string;
  expires_ms: number;
}

/** The collections the Mongo store uses, by what they hold. */
export interface Collections {
  users: Collection<UserDoc>;
  templates: Collection<TemplateDoc>;
  erasures: Collection<ErasureDoc>;
  jobs: Collection<JobDoc>;
  items: Collection<ItemDoc>;
  idempotency: Collection<IdempotencyDoc>;
  deliveries: Collection<DeliveryDoc>;
  endpoints: Collection<WebhookEndpoint>;
  attendance: Collection<AttendanceDoc>;
  sightings: Collection<SightingDoc>;
  unknownPersons: Collection<UnknownPersonDoc>;
  leases: Collection<LeaseDoc>;
}

export function openCollections(db: Db): Collections {
  return {
    users: db.collection('users'),
    templates: db.collection('templates'),
    erasures: db.collection('erasures'),
    jobs: db.collection('jobs'),
    items: db.collection('item_results'),
    idempotency: db.collection('idempotency'),
    deliveries: db.collection('webhook_deliveries'),
    endpoints: db.collection('webhook_endpoints'),
    attendance: db.collection('attendance'),
    sightings: db.collection('sightings'),
    unknownPersons: db.collection('unknown_persons'),
    leases: db.collection('leases'),
  };
}

export const NO_ID = { projection: { _id: 0 } } as const;
export const isDuplicateKey = (err: unknown) => err instanceof MongoServerError && err.code === 11000;

/** createIndex is a no-op when the index exists; one at a time, so collections are created once. */
export async function createIndexes(cols: Collections): Promise<void> {
  await cols.users.createIndex({ user_id: 1 }, { unique: true });
  await cols.users.createIndex({ group: 1, user_id: 1 });
  await cols.templates.createIndex({ user_id: 1, photo_sha256: 1 }, { unique: true });
  // galleryPage sorts by it: without an index a million templates exceed the in-memory sort limit.
  await cols.templates.createIndex({ template_id: 1 }, { unique: true });
  await cols.erasures.createIndex({ user_id: 1 }, { unique: true });
  await cols.jobs.createIndex({ job_id: 1 }, { unique: true });
  await cols.items.createIndex({ job_id: 1, index: 1 }, { unique: true });
  await cols.idempotency.createIndex({ key: 1 }, { unique: true });
  await cols.deliveries.createIndex({ delivery_id: 1, attempt: 1 }, { unique: true });
  await cols.deliveries.createIndex({ job_id: 1, at: 1 });
  await cols.endpoints.createIndex({ endpoint_id: 1 }, { unique: true });
  await cols.attendance.createIndex({ attendance_id: 1 }, { unique: true });
  await cols.attendance.createIndex({ user_id: 1, camera_id: 1, timestamp: 1 });
  await cols.attendance.createIndex({ timestamp: 1, attendance_id: 1 });
  await cols.sightings.createIndex({ sighting_id: 1 }, { unique: true });
  await cols.sightings.createIndex({ attendance_id: 1 });
  await cols.sightings.createIndex({ job_id: 1 });
  await cols.attendance.createIndex({ unknown_id: 1 });
  await cols.unknownPersons.createIndex({ unknown_id: 1 }, { unique: true });
  await cols.leases.createIndex({ key: 1 }, { unique: true });
  await cols.unknownPersons.createIndex({ first_seen: 1, unknown_id: 1 });
}
