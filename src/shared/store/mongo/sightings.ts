import { createHash } from 'node:crypto';
import type { Sighting } from '../types.js';
import { NO_ID, isDuplicateKey, type AttendanceDoc, type Collections } from './collections.js';
import { isoTime, toBinary } from './encoding.js';

/** What a sighting, or an absorbed record, adds to an attendance record (see `fold`). */
type Contribution = Pick<
  AttendanceDoc,
  'timestamp' | 'last_seen' | 'sightings' | 'similarity_score' | 'distance' | 'bbox' | 'thumbnail'
>;

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
 * Each fold is two atomic single-document updates ($min/$max of the times and + the count; then
 * the best sighting's fields, only if its similarity is strictly higher), so concurrent folds
 * into one record never lose each other's writes.
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
export async function recordSighting(
  cols: Collections,
  s: Sighting,
  windowMs: number,
): Promise<{ attendance_id: string }> {
  const at = isoTime(s.captured_at);
  try {
    await cols.sightings.insertOne({ sighting_id: s.sighting_id, attendance_id: null });
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
  if (s.kind === 'unknown') return startRecord(cols, started);

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
      // No projection: FerretDB v1's findAndModify does not implement one ("fields"). The doc
      // keeps its _id, which the fold ignores and a put-back re-uses.
      const doc = await cols.attendance.findOneAndDelete({ attendance_id: id });
      if (!doc) continue; // absorbed by a concurrent writer
      if (!(await fold(cols, keep.attendance_id, doc))) {
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
 * Adds a sighting or an absorbed record to record `id`: earliest timestamp, latest last_seen and
 * summed count in one atomic update ($min/$max compare the ISO strings, which sort as times), then
 * the best sighting's fields in a second one that applies only while the record's similarity is
 * strictly lower (or none), so on a tie the record keeps its own, as in SQLite, and concurrent
 * folds leave the highest. Plain update operators, not a pipeline update: FerretDB v1 refuses
 * those ("'update.updates.u' is the wrong type 'array'"), which failed every sighting that
 * joined a record. False when the record is not there (absorbed by a concurrent writer).
 */
async function fold(cols: Collections, id: string, c: Contribution): Promise<boolean> {
  const { matchedCount } = await cols.attendance.updateOne(
    { attendance_id: id },
    { $min: { timestamp: c.timestamp }, $max: { last_seen: c.last_seen }, $inc: { sightings: c.sightings } },
  );
  if (matchedCount !== 1) return false;
  if (c.similarity_score !== null) {
    await cols.attendance.updateOne(
      {
        attendance_id: id,
        $or: [{ similarity_score: null }, { similarity_score: { $lt: c.similarity_score } }],
      },
      {
        $set: {
          similarity_score: c.similarity_score,
          distance: c.distance,
          bbox: c.bbox,
          thumbnail: c.thumbnail,
        },
      },
    );
  }
  return true;
}
