/**
 * The tower's count, from the API, once the queues have drained: what happened to every
 * accepted item — each must have exactly one result, each enrolled photo exactly one
 * template, and no two attendance records may be one person at one camera within one window.
 */
import { z } from 'zod';
import { jobResults, type ItemResult, type Spawned } from './service.js';

/** A batch the API accepted (202). */
export interface Submitted {
  job_id: string;
  type: 'enrollment' | 'attendance';
  items: number;
  /** Attendance: the user ids shown in each frame, by index. */
  shown?: string[][];
  /** Enrollment: photos sent per user id. */
  sent?: Record<string, number>;
  /** Attendance: the camera. */
  camera?: string;
}

export async function apiGet(api: Spawned, urlPath: string): Promise<unknown> {
  const res = await fetch(`${api.baseUrl}${urlPath}`, {
    headers: { 'x-api-key': api.key },
    signal: AbortSignal.timeout(10_000),
  });
  const body: unknown = await res.json();
  if (res.status !== 200) throw new Error(`GET ${urlPath}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

/** Outcomes that say the service failed, not the photo: the item should have been retried to an answer. */
const FAULT_OUTCOMES = new Set(['INTERNAL_ERROR', 'SERVICE_UNAVAILABLE', 'TIMEOUT']);

export interface Audit {
  items: number;
  items_with_result: number;
  /** Accepted, no result after the drain. Must be 0. */
  lost: number;
  /** Results saying the service failed (e.g. a job stalled by kills more often than BullMQ allows). */
  failed_by_faults: number;
  /** The first few of those: `type #index ref: error`. */
  fault_examples: string[];
  outcomes: Record<string, number>;
  people_enrolled: number;
  templates: number;
  /** Templates beyond one per photo sent for that user. Must be 0. */
  duplicate_templates: number;
  /** Photos their results say were enrolled, without a template. */
  missing_templates: number;
  /**
   * Users in the store with templates although their item's result says it failed: the store
   * and the result disagree (e.g. enrolled by an attempt that died before recording its result).
   */
  unexpected_users: number;
  frames: number;
  faces_matched: number;
  /** Matches to someone not in the frame (a matcher error, not a fault of the tower). */
  matched_wrong_person: number;
  attendance_records: number;
  sightings_recorded: number;
  /** Pairs of records of one person at one camera within one window of each other. Must be 0. */
  duplicate_records: number;
  /** The first few: `user|camera: span and span` (UTC times of each record, sightings). */
  duplicate_record_examples: string[];
  /**
   * Person|camera pairs whose records hold another number of sightings than the frame results
   * report matches (first 20): `key: results N, records M`. Pairs shown in a frame that failed
   * by a fault are left out (it may have recorded part of its sightings).
   */
  sightings_mismatch: string[];
}

const UserPage = z.object({
  items: z.array(
    z.object({ user_id: z.string(), templates: z.array(z.object({ template_id: z.string() })) }),
  ),
  next_cursor: z.string().nullable(),
});
const RecordPage = z.object({
  items: z.array(
    z.object({
      user_id: z.string().nullable(),
      camera_id: z.string(),
      timestamp: z.string(),
      last_seen: z.string(),
      sightings: z.number(),
    }),
  ),
  next_cursor: z.string().nullable(),
});
type AttendanceRow = z.infer<typeof RecordPage>['items'][number];
const FrameDetail = z.object({
  matched: z.number(),
  detections: z.array(z.object({ kind: z.string(), user_id: z.string().nullable() })),
});

/** Every page of a listing. */
async function allPages<T>(
  api: Spawned,
  base: string,
  page: (v: unknown) => { items: T[]; next_cursor: string | null },
) {
  const all: T[] = [];
  for (let cursor: string | null = null; ;) {
    const p = page(
      await apiGet(api, `${base}&limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`),
    );
    all.push(...p.items);
    if (!p.next_cursor) return all;
    cursor = p.next_cursor;
  }
}

/**
 * Records of one user and camera sorted by start: the store chains sightings within `windowMs`
 * of a record's ends into it, so two records whose gap is within the window should be one.
 */
export function duplicateRecords(
  records: AttendanceRow[],
  windowMs: number,
): { count: number; examples: string[] } {
  const byKey = new Map<string, AttendanceRow[]>();
  for (const r of records) {
    const key = `${r.user_id ?? ''}|${r.camera_id}`;
    byKey.set(key, [...(byKey.get(key) ?? []), r]);
  }
  const examples: string[] = [];
  let count = 0;
  const span = (r: AttendanceRow) =>
    `${r.timestamp.slice(11, 19)}-${r.last_seen.slice(11, 19)} x${r.sightings}`;
  for (const [key, list] of byKey) {
    list.sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp));
    let previous: AttendanceRow | undefined;
    let lastSeen = -Infinity;
    for (const r of list) {
      if (previous && Date.parse(r.timestamp) - lastSeen <= windowMs) {
        count++;
        if (examples.length < 5) examples.push(`${key}: ${span(previous)} and ${span(r)}`);
      }
      previous = r;
      lastSeen = Math.max(lastSeen, Date.parse(r.last_seen));
    }
  }
  return { count, examples };
}

export async function audit(
  api: Spawned,
  jobs: Submitted[],
  opts: { group: string; windowMs: number },
): Promise<Audit> {
  const a: Audit = {
    items: 0,
    items_with_result: 0,
    lost: 0,
    failed_by_faults: 0,
    fault_examples: [],
    outcomes: {},
    people_enrolled: 0,
    templates: 0,
    duplicate_templates: 0,
    missing_templates: 0,
    unexpected_users: 0,
    frames: 0,
    faces_matched: 0,
    matched_wrong_person: 0,
    attendance_records: 0,
    sightings_recorded: 0,
    duplicate_records: 0,
    duplicate_record_examples: [],
    sightings_mismatch: [],
  };
  /** user|camera -> matched faces the frame results report. */
  const matchedByKey = new Map<string, number>();
  const uncertain = new Set<string>();
  /** user_id -> templates its results say were stored. */
  const expected = new Map<string, number>();
  /** user_id -> photos sent for it, over every batch. */
  const sent = new Map<string, number>();
  for (const job of jobs) {
    const results: ItemResult[] = await jobResults(api, job.job_id);
    const indices = new Set(results.map((r) => r.index));
    a.items += job.items;
    a.items_with_result += indices.size;
    a.lost += Math.max(0, job.items - indices.size);
    for (const [id, n] of Object.entries(job.sent ?? {})) sent.set(id, (sent.get(id) ?? 0) + n);
    for (const r of results) {
      a.outcomes[r.outcome] = (a.outcomes[r.outcome] ?? 0) + 1;
      if (FAULT_OUTCOMES.has(r.outcome)) {
        a.failed_by_faults++;
        if (a.fault_examples.length < 5) {
          a.fault_examples.push(`${job.type} #${r.index} ${r.ref ?? ''}: ${String(r.error).slice(0, 200)}`);
        }
        // A frame that failed part-way may have recorded some of its sightings: its people's
        // counts at this camera can no longer be checked against the results.
        for (const id of job.shown?.[r.index] ?? []) uncertain.add(`${id}|${job.camera ?? ''}`);
      }
      if (job.type === 'enrollment' && r.ok && r.ref) {
        expected.set(r.ref, (expected.get(r.ref) ?? 0) + Number(r.templates ?? 1));
      }
      const frame = job.type === 'attendance' ? FrameDetail.safeParse(r) : undefined;
      if (frame?.success) {
        a.frames++;
        a.faces_matched += frame.data.matched;
        const shown = new Set(job.shown?.[r.index] ?? []);
        for (const d of frame.data.detections) {
          if (d.kind !== 'match') continue;
          if (!shown.has(d.user_id ?? '')) a.matched_wrong_person++;
          const key = `${d.user_id ?? ''}|${r.ref ?? ''}`;
          matchedByKey.set(key, (matchedByKey.get(key) ?? 0) + 1);
        }
      }
    }
  }
  const users = await allPages(api, `/api/v1/users?group=${encodeURIComponent(opts.group)}`, (v) =>
    UserPage.parse(v),
  );
  a.people_enrolled = expected.size;
  for (const u of users) {
    const want = expected.get(u.user_id);
    a.templates += u.templates.length;
    if (want === undefined && u.templates.length > 0) a.unexpected_users++;
    a.duplicate_templates += Math.max(0, u.templates.length - (sent.get(u.user_id) ?? 0));
    a.missing_templates += Math.max(0, (want ?? 0) - u.templates.length);
  }
  const listed = new Set(users.map((u) => u.user_id));
  for (const [id, want] of expected) if (!listed.has(id)) a.missing_templates += want;
  const records = await allPages(api, '/api/v1/attendance?kind=match', (v) => RecordPage.parse(v));
  a.attendance_records = records.length;
  a.sightings_recorded = records.reduce((n, r) => n + r.sightings, 0);
  const duplicates = duplicateRecords(records, opts.windowMs);
  a.duplicate_records = duplicates.count;
  a.duplicate_record_examples = duplicates.examples;
  const recordedByKey = new Map<string, number>();
  for (const r of records) {
    const key = `${r.user_id ?? ''}|${r.camera_id}`;
    recordedByKey.set(key, (recordedByKey.get(key) ?? 0) + r.sightings);
  }
  for (const key of new Set([...matchedByKey.keys(), ...recordedByKey.keys()])) {
    const [want, got] = [matchedByKey.get(key) ?? 0, recordedByKey.get(key) ?? 0];
    if (want !== got && !uncertain.has(key))
      a.sightings_mismatch.push(`${key}: results ${want}, records ${got}`);
  }
  a.sightings_mismatch = a.sightings_mismatch.slice(0, 20);
  return a;
}
