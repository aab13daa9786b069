import { createHash } from 'node:crypto';
import { isConfirming, isStrong } from '../../evidence.js';
import { isoTime } from '../iso-time.js';
import type { AttendanceRecord, Sighting } from '../types.js';
import { step, type Step, type Steps } from './steps.js';

/** The best sighting's fields, which a record shows: taken whole from the best one. */
export interface BestSighting {
  similarity_score: number | null;
  distance: number | null;
  margin: number | null;
  threshold: number | null;
  confirm_threshold: number | null;
  strong_threshold: number | null;
  bbox: AttendanceRecord['bbox'];
  thumbnail: string | null;
}

/**
 * What the window rule reads of a record and writes back: its times, evidence counters and best
 * sighting. A backend maps its rows to this, reading rows from before the evidence fields as
 * their sightings being confirming matches with closed windows (window_closes_at = last_seen).
 */
export interface RecordState {
  attendance_id: string;
  timestamp: string;
  last_seen: string;
  window_closes_at: string;
  sightings: number;
  confirming_sightings: number;
  strong_sightings: number;
  best: BestSighting;
  /**
   * What an attempt folded into this record whose follow-up may not have happened: a sighting
   * not linked yet, a record absorbed but not deleted yet. A backend whose rule runs in one
   * transaction (SQLite) never has any; MongoDB keeps them on the record, written by the same
   * single-document update as the counts, so a retry (or the next sighting) does not count them
   * again, and clears each once its follow-up is done.
   */
  pending: string[];
}

/** A record a sighting starts: its state and the fields fixed at its start. */
export interface NewRecord extends RecordState {
  kind: Sighting['kind'];
  user_id: string | null;
  name: string | null;
  group: string | null;
  camera_id: string;
  embedding: Float32Array | null;
  job_id: string;
  recorded_at: string;
}

/**
 * A joined record's new state; `best` only when the best sighting changed; `pending`: the ids
 * this update folds in, to add to the record's own.
 */
export type RecordUpdate = Omit<RecordState, 'attendance_id' | 'best' | 'pending'> & {
  best?: BestSighting;
  pending: string[];
};

/** The match records a sighting chains onto: this user's at this camera, within the window of either end. */
export interface ChainQuery {
  user_id: string;
  camera_id: string;
  /** timestamp <= this */
  startsBy: string;
  /** last_seen >= this */
  lastSeenFrom: string;
}

/**
 * The storage a sighting needs, each primitive one atomic operation (a statement, a
 * single-document write) of the backend. SQLite's give values and run inside one IMMEDIATE
 * transaction; MongoDB's give promises, and one chain's writers are serialised by a lease.
 */
export interface SightingStorage {
  /** Runs the rule: SQLite with runSync inside its transaction, MongoDB with runAsync. */
  run<T>(steps: Steps<T>): Promise<T>;
  /**
   * Runs `body` as the only writer of one chain (records chain only within one user and camera),
   * across processes. SQLite: the transaction already is; MongoDB: a lease on `key`.
   */
  exclusive<T>(key: string, body: () => Steps<T>): Step<T>;
  /**
   * The record of a sighting recorded before (a repeat changes nothing); else undefined, and
   * the sighting is this call's to record. MongoDB claims it here (a unique insert) and treats a
   * claimed sighting never linked (an attempt that stopped midway) as this call's to redo.
   */
  claim(s: Sighting): Step<string | undefined>;
  /** The records of `q`, in (timestamp, attendance_id) order. */
  near(q: ChainQuery): Step<RecordState[]>;
  /** Inserts a record; one already there with its id (a retry's: ids derive from sightings) is kept. */
  start(record: NewRecord): Step<void>;
  /** Writes a record's new state; false when it is not there (deleted meanwhile). */
  update(attendanceId: string, update: RecordUpdate): Step<boolean>;
  /** Moves record `from`'s sightings to record `into`, then deletes `from`. */
  absorb(from: string, into: string): Step<void>;
  /** Links the sighting (with its job and face crop) to the record it ended in. */
  link(s: Sighting, attendanceId: string): Step<void>;
  /** Removes `ids` from the record's `pending`: their follow-up is done. */
  settle(attendanceId: string, ids: string[]): Step<void>;
}

/** Attempts of the find-and-merge before giving up: only a record deleted meanwhile needs a second. */
const MAX_ATTEMPTS = 5;

/**
 * Attendance de-duplication, for every backend: sightings of one user by one camera within
 * `windowMs` of each other (chained) are one record, whatever order they arrive in; recording a
 * sighting_id again changes nothing.
 *
 * 1. `claim`: a sighting recorded before answers with its record.
 * 2. An unknown face starts its own record.
 * 3. A match, as the only writer of its (user, camera) chain: the records within the window of
 *    either end of the sighting, earliest first. None: it starts a record. Otherwise the first
 *    is kept and the later ones (which this sighting bridges) and the sighting are merged into
 *    it (`merge`): earliest timestamp, latest last_seen and window end, summed counters, the
 *    best sighting's fields; the absorbed records' sightings move to it and they are deleted.
 * 4. `link` the sighting to the record it ended in.
 *
 * An attempt that stopped midway (MongoDB: no transaction; a worker killed) is finished by its
 * retry or the next sighting of the chain without counting anything twice: a new record's id
 * derives from its first sighting's id, so a retry finds it instead of starting a second; a
 * merge lists what it folded in as the kept record's `pending` in the same write as the counts,
 * so a sighting merged but not linked, or a record absorbed but not deleted, is not folded in
 * again; each is settled (taken off `pending`) once linked or deleted, inside the chain's lease.
 * (Before `pending`, the tower test under kill -9 on FerretDB counted one sighting twice.)
 */
export function recordSighting(
  io: SightingStorage,
  s: Sighting,
  windowMs: number,
): Promise<{ attendance_id: string }> {
  return io.run(recordSteps(io, s, windowMs));
}

function* recordSteps(io: SightingStorage, s: Sighting, windowMs: number): Steps<{ attendance_id: string }> {
  const started = newRecord(s, windowMs); // first: a captured_at that is not a time claims nothing
  const recorded = yield* step(io.claim(s));
  if (recorded !== undefined) return { attendance_id: recorded };
  if (s.kind === 'match') {
    const key = `attendance:${s.user_id ?? ''}:${s.camera_id}`;
    return { attendance_id: yield* step(io.exclusive(key, () => placeMatch(io, s, windowMs, started))) };
  }
  yield* step(io.start(started));
  yield* step(io.link(s, started.attendance_id));
  return { attendance_id: started.attendance_id };
}

/** Steps 3 and 4, as the chain's only writer: the id of the record the match ends in. */
function* placeMatch(io: SightingStorage, s: Sighting, windowMs: number, started: NewRecord): Steps<string> {
  const t = Date.parse(started.timestamp);
  const chain: ChainQuery = {
    user_id: s.user_id ?? '',
    camera_id: s.camera_id,
    startsBy: new Date(t + windowMs).toISOString(),
    lastSeenFrom: new Date(t - windowMs).toISOString(),
  };
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const near = yield* step(io.near(chain));
    const [keep, ...absorbed] = near;
    if (!keep) {
      yield* step(io.start(started));
      yield* step(io.link(s, started.attendance_id));
      return started.attendance_id;
    }
    // A retry of an attempt that started this sighting's record, or merged it into one of these:
    // the sighting is counted already.
    const counted = near.some(
      (r) => r.attendance_id === started.attendance_id || r.pending.includes(s.sighting_id),
    );
    // Records a stopped merge folded into `keep` but did not delete: absorbed now, not counted again.
    const fresh = absorbed.filter((r) => !keep.pending.includes(r.attendance_id));
    const folded = [...fresh, ...(counted ? [] : [started])];
    const pending = [
      ...fresh.flatMap((r) => [r.attendance_id, ...r.pending]),
      ...(counted ? [] : [s.sighting_id]),
    ];
    const update = { ...changes(keep, folded.reduce(merge, keep)), pending };
    const written = yield* step(io.update(keep.attendance_id, update));
    if (!written) continue; // the kept record was deleted meanwhile: look again
    for (const r of absorbed) yield* step(io.absorb(r.attendance_id, keep.attendance_id));
    yield* step(io.link(s, keep.attendance_id));
    // Only what this call finished: a sighting of another stopped attempt stays for its retry.
    yield* step(io.settle(keep.attendance_id, [s.sighting_id, ...absorbed.map((r) => r.attendance_id)]));
    return keep.attendance_id;
  }
  throw new Error(`recordSighting ${s.sighting_id}: its records kept changing; giving up`);
}

/**
 * `into` with `other` (a sighting, or a record it absorbs) folded in. The best sighting is the
 * one of strictly higher similarity: on a tie `into` keeps its own. Folded in the order kept
 * record, absorbed records by time, the sighting: of equal ones the kept record's stays.
 */
export function merge(into: RecordState, other: RecordState): RecordState {
  const higher = (other.best.similarity_score ?? -Infinity) > (into.best.similarity_score ?? -Infinity);
  return {
    attendance_id: into.attendance_id,
    timestamp: other.timestamp < into.timestamp ? other.timestamp : into.timestamp,
    last_seen: other.last_seen > into.last_seen ? other.last_seen : into.last_seen,
    window_closes_at:
      other.window_closes_at > into.window_closes_at ? other.window_closes_at : into.window_closes_at,
    sightings: into.sightings + other.sightings,
    confirming_sightings: into.confirming_sightings + other.confirming_sightings,
    strong_sightings: into.strong_sightings + other.strong_sightings,
    best: higher ? other.best : into.best,
    pending: into.pending,
  };
}

/** What `update` writes: every counter and time, and the best sighting's fields if another is best now. */
function changes(keep: RecordState, merged: RecordState): Omit<RecordUpdate, 'pending'> {
  const update: Omit<RecordUpdate, 'pending'> = {
    timestamp: merged.timestamp,
    last_seen: merged.last_seen,
    window_closes_at: merged.window_closes_at,
    sightings: merged.sightings,
    confirming_sightings: merged.confirming_sightings,
    strong_sightings: merged.strong_sightings,
  };
  if (merged.best !== keep.best) update.best = merged.best;
  return update;
}

/** The record a sighting starts: one sighting, its window open until captured_at + windowMs. */
function newRecord(s: Sighting, windowMs: number): NewRecord {
  const at = isoTime(s.captured_at);
  return {
    attendance_id: recordIdFor(s.sighting_id),
    kind: s.kind,
    user_id: s.user_id,
    name: s.name,
    group: s.group,
    camera_id: s.camera_id,
    timestamp: at,
    last_seen: at,
    window_closes_at: new Date(Date.parse(at) + windowMs).toISOString(),
    sightings: 1,
    confirming_sightings: isConfirming(s) ? 1 : 0,
    strong_sightings: isStrong(s) ? 1 : 0,
    pending: [],
    best: {
      similarity_score: s.similarity,
      distance: s.distance,
      margin: s.margin,
      threshold: s.threshold,
      confirm_threshold: s.confirm_threshold,
      strong_threshold: s.strong_threshold,
      bbox: { x: s.bbox.x, y: s.bbox.y, width: s.bbox.width, height: s.bbox.height },
      thumbnail: s.thumbnail,
    },
    embedding: s.embedding,
    job_id: s.job_id,
    recorded_at: new Date().toISOString(),
  };
}

/** The id of the record a sighting starts, derived from its sighting_id (UUID-shaped). */
function recordIdFor(sightingId: string): string {
  const h = createHash('sha256').update(`attendance:${sightingId}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
