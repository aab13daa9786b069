/**
 * Unknown people (issue 8 §6): the unknown faces attendance records (kind 'unknown', with their
 * embedding) grouped into persons, so a stranger seen by several cameras over several batches
 * is one `unknown_id`, can be found again and enrolled.
 *
 * Grouping is incremental and deterministic: each unknown sighting, in (captured_at,
 * sighting_id) order, joins the nearest unknown person if its distance to one of that person's
 * exemplars (its EXEMPLARS sightings with the largest faces: bigger faces embed better) is at
 * most the grouping threshold, or starts a person whose id is derived from its sighting_id. It
 * runs in one place only, a job per attendance batch on a queue with global concurrency 1, so
 * two batches never group at once; a sighting already grouped is never looked at again, so a
 * batch grouped twice (a retry) keeps its grouping, and a run that stopped midway resumes with
 * the state the stored assignments give.
 *
 * The threshold: a false merge (two strangers made one) is worse than a split (one stranger
 * twice): it would put one person's sightings on another's record, and enrolling it would make
 * a template of the wrong face. So it is strict: the open-set threshold for a target FPIR
 * STRONG_FPIR_FACTOR (10) times below attendance's (0.1 % at the default), over as many
 * comparisons as there are exemplars, and never looser than high-security (0.59, FAR 1e-4),
 * attendance's own cap. 0.59 up to ~10 exemplars, 0.5 at ~300.
 */
import { createHash } from 'node:crypto';
import type { Config } from './config.js';
import { STRONG_FPIR_FACTOR } from './evidence.js';
import { cosineDistance } from './face-math.js';
import type { OpenSetModel } from './open-set.js';
import type {
  AttendanceRepository,
  BlobStore,
  UnknownPerson,
  UnknownRepository,
  UnknownSighting,
} from './store/index.js';

/** Sightings per person compared with (and enrolled from): its largest faces. */
export const EXEMPLARS = 3;

export function groupingThreshold(
  deps: { config: Config; openSet: OpenSetModel },
  exemplars: number,
): number {
  const target = deps.config.targetFpir.attendance / STRONG_FPIR_FACTOR;
  return deps.openSet.decide(target, exemplars, deps.openSet.thresholds.cosine.high_security).threshold;
}

/** The id of the person a sighting starts: derived, so a re-run gives the same one. */
export function unknownIdFor(sightingId: string): string {
  return `unk_${createHash('sha256').update(`unknown:${sightingId}`).digest('hex').slice(0, 24)}`;
}

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Largest face first; on a tie the earlier sighting id (deterministic). */
export function bestFirst(sightings: readonly UnknownSighting[]): UnknownSighting[] {
  return [...sightings].sort((a, b) => b.face_size - a.face_size || byText(a.sighting_id, b.sighting_id));
}

/** `<job>:<frame>:<face>` -> `<job>:<frame>`: two faces of one frame are two people. */
const frameOf = (sightingId: string) => sightingId.slice(0, sightingId.lastIndexOf(':'));

/** The summary the unknowns API lists; undefined when the person has no sightings left. */
export function summarise(
  unknownId: string,
  sightings: readonly UnknownSighting[],
): UnknownPerson | undefined {
  const [best] = bestFirst(sightings);
  if (!best) return undefined;
  const times = sightings.map((s) => s.captured_at).sort(byText);
  return {
    unknown_id: unknownId,
    sightings: sightings.length,
    first_seen: times[0] ?? best.captured_at,
    last_seen: times.at(-1) ?? best.captured_at,
    cameras: [...new Set(sightings.map((s) => s.camera_id))].sort(byText),
    best_attendance_id: best.attendance_id,
    best_thumbnail: best.thumbnail,
  };
}

interface Person {
  sightings: UnknownSighting[];
  exemplars: UnknownSighting[];
  frames: Set<string>;
}

/** The unknown persons in memory, built from the stored assignments. */
export class UnknownIndex {
  private readonly persons = new Map<string, Person>();

  constructor(grouped: readonly UnknownSighting[]) {
    for (const s of grouped) if (s.unknown_id) this.add(s.unknown_id, s);
  }

  get exemplarCount(): number {
    let n = 0;
    for (const p of this.persons.values()) n += p.exemplars.length;
    return n;
  }

  add(unknownId: string, s: UnknownSighting): void {
    const p = this.persons.get(unknownId) ?? { sightings: [], exemplars: [], frames: new Set<string>() };
    p.sightings.push(s);
    p.exemplars = bestFirst([...p.exemplars, s]).slice(0, EXEMPLARS);
    p.frames.add(frameOf(s.sighting_id));
    this.persons.set(unknownId, p);
  }

  sightingsOf(unknownId: string): UnknownSighting[] {
    return this.persons.get(unknownId)?.sightings ?? [];
  }

  /** Persons by their nearest exemplar's distance to `embedding`, nearest first (ties: by id). */
  nearest(
    embedding: Float32Array,
    limit: number,
    excludeFrame?: string,
  ): { unknown_id: string; distance: number }[] {
    const out: { unknown_id: string; distance: number }[] = [];
    for (const [id, p] of this.persons) {
      if (excludeFrame !== undefined && p.frames.has(excludeFrame)) continue;
      const distance = Math.min(...p.exemplars.map((e) => cosineDistance(embedding, e.embedding)));
      out.push({ unknown_id: id, distance });
    }
    return out.sort((a, b) => a.distance - b.distance || byText(a.unknown_id, b.unknown_id)).slice(0, limit);
  }
}

export interface GroupingResult {
  grouped: number;
  new_persons: number;
  threshold: number | null;
}

/** Groups batch `jobId`'s ungrouped unknown sightings (see the top of the file). Serial callers only. */
export async function groupUnknowns(
  deps: { config: Config; openSet: OpenSetModel; store: UnknownRepository },
  jobId: string,
): Promise<GroupingResult> {
  const pending = await deps.store.unknownSightings({ job_id: jobId, grouped: false });
  if (pending.length === 0) return { grouped: 0, new_persons: 0, threshold: null };
  const index = new UnknownIndex(await deps.store.unknownSightings({ grouped: true }));
  const touched = new Set<string>();
  let created = 0;
  let threshold: number = deps.openSet.thresholds.cosine.high_security;
  for (const s of pending) {
    threshold = groupingThreshold(deps, index.exemplarCount);
    const [near] = index.nearest(s.embedding, 1, frameOf(s.sighting_id));
    const joins = near !== undefined && near.distance <= threshold;
    const id = joins ? near.unknown_id : unknownIdFor(s.sighting_id);
    if (!joins) created++;
    await deps.store.setUnknownId(s.attendance_id, id);
    index.add(id, { ...s, unknown_id: id });
    touched.add(id);
  }
  for (const id of touched) {
    const person = summarise(id, index.sightingsOf(id));
    if (person) await deps.store.putUnknownPerson(person);
  }
  return { grouped: pending.length, new_persons: created, threshold };
}

/**
 * Retention: deletes the unknown records stored more than UNKNOWN_RETENTION_DAYS before `now`,
 * every crop they held, and persons left without sightings (the others get a new summary).
 * By when they were stored, not captured_at: footage replayed from last year is not deleted
 * on arrival, and a camera's wrong clock cannot shorten or stretch the retention.
 */
export async function expireUnknowns(
  deps: {
    config: Config;
    store: UnknownRepository & Pick<AttendanceRepository, 'deleteAttendance'>;
    blobs: BlobStore;
  },
  now = Date.now(),
): Promise<{ records: number; crops: number; persons_removed: number }> {
  const cutoff = new Date(now - deps.config.unknownRetentionMs).toISOString();
  const expired = await deps.store.unknownSightings({ recorded_before: cutoff });
  if (expired.length === 0) return { records: 0, crops: 0, persons_removed: 0 };
  const keys = await deps.store.deleteAttendance(expired.map((s) => s.attendance_id));
  // Records first, then crops: a crop left by a fault here is unreferenced, never a dangling record.
  await Promise.all(keys.map((k) => deps.blobs.delete(k)));
  let removed = 0;
  for (const id of new Set(expired.flatMap((s) => (s.unknown_id ? [s.unknown_id] : [])))) {
    const person = summarise(id, await deps.store.unknownSightings({ unknown_id: id }));
    if (person) await deps.store.putUnknownPerson(person);
    else {
      await deps.store.deleteUnknownPerson(id);
      removed++;
    }
  }
  return { records: expired.length, crops: keys.length, persons_removed: removed };
}
