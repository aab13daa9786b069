import { createHash } from 'node:crypto';
import { isConfirming, isStrong } from '../../evidence.js';
import type { Sighting } from '../types.js';
import { NO_ID, isDuplicateKey, type AttendanceDoc, type Collections } from './collections.js';
import { isoTime, toBinary } from './encoding.js';
import { withLease } from './leases.js';

/** What a sighting, or an absorbed record, adds to an attendance record (see `fold`). */
type Contribution = Pick<AttendanceDoc, 'timestamp' | 'last_seen' | 'sightings'> &
  Required<Pick<AttendanceDoc, 'confirming_sightings' | 'strong_sightings' | 'window_closes_at'>> &
  Best;
/** The best sighting's fields: a fold takes them all when its similarity is strictly higher. */
type Best = Pick<AttendanceDoc, 'similarity_score' | 'distance' | 'bbox' | 'thumbnail'> &
  Required<Pick<AttendanceDoc, 'margin' | 'threshold' | 'confirm_threshold' | 'strong_threshold'>>;

/**
 * An absorbed record as a contribution. Documents from before the evidence fields lack them:
 * their sightings were matches at the threshold of the time (each confirming), windows closed.
 */
const contributionOf = (d: AttendanceDoc): Contribution => ({
  timestamp: d.timestamp,
  last_seen: d.last_seen,
  sightings: d.sightings,
  confirming_sightings: d.confirming_sightings ?? (d.kind === 'match' ? d.sightings : 0),
  strong_sightings: d.strong_sightings ?? 0,
  window_closes_at: d.window_closes_at ?? d.last_seen,
  similarity_score: d.similarity_score,
  distance: d.distance,
  margin: d.margin ?? null,
  threshold: d.threshold ?? null,
  confirm_threshold: d.confirm_threshold ?? null,
  strong_threshold: d.strong_threshold ?? null,
  bbox: d.bbox,
  thumbnail: d.thumbnail,
});

/** The id of the record a sighting starts, derived from its sighting_id (UUID-shaped). */
function recordIdFor(sightingId: string): string {
  const h = createHash('sha256').update(`attendance:${sightingId}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
/** Attempts of recordSighting's find-and-fold before giving up (only concurrent merges need a second). */
const MAX_FOLD_ATTEMPTS = 5;

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
 * Each fold is ONE atomic update with plain operators ($min/$max of the times and the window's
 * end, $inc of the counters, and $set of the best sighting's fields guarded by the filter
 * `similarity_score < its own`), so concurrent folds into one record never lose each other's
 * writes. No pipeline update, $cond, $lookup or transaction: FerretDB v1 runs it too.
 *
 * Steps 3-4 of a match run under a lease on (user, camera) (leases.ts): records chain only
 * within one user and camera, so with the lease there is one writer per chain and this gives
 * exactly SQLite's records under any concurrency (24 concurrent sightings of one person at one
 * camera: one record counting 24; without the lease FerretDB made 7). The atomic folds still
 * matter: erasure and photo detaching touch records without the lease.
 *
 * What it does NOT guarantee: an attempt that stops midway (crash, lost connection) leaves the
 * sighting claimed but not linked; its retry redoes steps 2-4. For a match folded into an
 * existing record (or whose record was absorbed since), this counts the sighting twice
 * (`sightings` one too high; times and best sighting are unaffected); an absorbed record
 * removed but not yet folded is lost.
 */
export async function recordSighting(
  cols: Collections,
  s: Sighting,
  windowMs: number,
): Promise<{ attendance_id: string }> {
  const at = isoTime(s.captured_at);
  try {
    await cols.sightings.insertOne({
      sighting_id: s.sighting_id,
      attendance_id: null,
      job_id: s.job_id,
      thumbnail: s.thumbnail,
    });
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    const prev = await cols.sightings.findOne({ sighting_id: s.sighting_id }, NO_ID);
    if (prev?.attendance_id) return { attendance_id: prev.attendance_id };
    // Claimed but never linked: an earlier attempt stopped midway. Redo it (see above).
  }
  const attendance_id = await placeSighting(cols, s, at, windowMs);
  await cols.sightings.updateOne({ sighting_id: s.sighting_id }, { $set: { attendance_id } });
  return { attendance_id };
}

/** recordSighting's steps 2 and 3: puts the sighting into a record; returns the record's id. */
async function placeSighting(cols: Collections, s: Sighting, at: string, windowMs: number): Promise<string> {
  const own: Contribution = {
    timestamp: at,
    last_seen: at,
    sightings: 1,
    confirming_sightings: isConfirming(s) ? 1 : 0,
    strong_sightings: isStrong(s) ? 1 : 0,
    window_closes_at: new Date(Date.parse(at) + windowMs).toISOString(),
    similarity_score: s.similarity,
    distance: s.distance,
    margin: s.margin,
    threshold: s.threshold,
    confirm_threshold: s.confirm_threshold,
    strong_threshold: s.strong_threshold,
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
    unknown_id: null,
    recorded_at: new Date().toISOString(),
  };
  if (s.kind === 'unknown') return startRecord(cols, started);
  // One writer at a time per person and camera: records chain only within one (user, camera).
  return withLease(cols, `attendance:${s.user_id ?? ''}:${s.camera_id}`, () =>
    placeMatch(cols, s, at, windowMs, own, started),
  );
}

/** placeSighting for a match, under its (user, camera) lease. */
async function placeMatch(
  cols: Collections,
  s: Sighting,
  at: string,
  windowMs: number,
  own: Contribution,
  started: AttendanceDoc,
): Promise<string> {
  const t = Date.parse(at);
  for (let attempt = 1; attempt <= MAX_FOLD_ATTEMPTS; attempt++) {
    // Records this sighting chains onto: same user and camera, within the window of either end.
    const near = await cols.attendance
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
    if (!keep) return startRecord(cols, started);
    const counted = near.some((r) => r.attendance_id === started.attendance_id);
    let keepGone = false;
    for (const { attendance_id: id } of absorbed) {
      // No projection: FerretDB v1 does not implement one on findAndModify ("fields").
      const found = await cols.attendance.findOneAndDelete({ attendance_id: id });
      if (!found) continue; // absorbed by a concurrent writer
      const { _id, ...doc } = found;
      if (!(await fold(cols, keep.attendance_id, contributionOf(doc)))) {
        await cols.attendance.insertOne(doc); // the kept record went meanwhile: put this one back
        keepGone = true;
        break;
      }
      await cols.sightings.updateMany({ attendance_id: id }, { $set: { attendance_id: keep.attendance_id } });
    }
    if (keepGone) continue;
    if (counted || (await fold(cols, keep.attendance_id, own))) return keep.attendance_id;
  }
  throw new Error(`recordSighting ${s.sighting_id}: its records kept changing; giving up`);
}

/** Inserts a new record; one already there under this (derived) id is a retry's, and is it. */
async function startRecord(cols: Collections, doc: AttendanceDoc): Promise<string> {
  try {
    await cols.attendance.insertOne({ ...doc }); // a copy: insertOne adds `_id`
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
  }
  return doc.attendance_id;
}

/**
 * Adds a sighting or an absorbed record to record `id` in one atomic update: earliest timestamp,
 * latest last_seen and window end, summed counters, and the best sighting's fields when the
 * contribution's similarity is strictly higher, so on a tie the record keeps its own, as in
 * SQLite. That condition is the filter of a first try; when it does not hold the fold is redone
 * without the best fields. The record's similarity only ever rises, so a first try that matched
 * nothing because it was not better stays right for the second. False when the record is not
 * there (absorbed by a concurrent writer).
 */
async function fold(cols: Collections, id: string, c: Contribution): Promise<boolean> {
  const counts = {
    $min: { timestamp: c.timestamp },
    $max: { last_seen: c.last_seen, window_closes_at: c.window_closes_at },
    $inc: {
      sightings: c.sightings,
      confirming_sightings: c.confirming_sightings,
      strong_sightings: c.strong_sightings,
    },
  };
  if (c.similarity_score !== null) {
    const best: Best = {
      similarity_score: c.similarity_score,
      distance: c.distance,
      margin: c.margin,
      threshold: c.threshold,
      confirm_threshold: c.confirm_threshold,
      strong_threshold: c.strong_threshold,
      bbox: c.bbox,
      thumbnail: c.thumbnail,
    };
    const better = await cols.attendance.updateOne(
      {
        attendance_id: id,
        $or: [{ similarity_score: null }, { similarity_score: { $lt: c.similarity_score } }],
      },
      { ...counts, $set: best },
    );
    if (better.matchedCount === 1) return true;
  }
  const { matchedCount } = await cols.attendance.updateOne({ attendance_id: id }, counts);
  return matchedCount === 1;
}
