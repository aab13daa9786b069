/**
 * Attendance decided on evidence from several frames (issue 8 §3). One frame under the
 * threshold is weak evidence: a stranger's face falls under it now and then (FPIR), and every
 * match record used to count as a presence: 9 people in no frame were recorded present at the
 * old fixed 0.59 with 537 enrolled and 140 strangers (bench:attendance-evidence); confirmed
 * records at the default thresholds: 0, for 74 of the 75 real people. A match record is now
 *
 * - `confirmed` once its sightings are enough: 2+ confirming sightings within the window (at or
 *   under `confirm_threshold`: the open-set threshold the service itself would use, or the
 *   caller's when stricter), or one strong sighting (at or under `strong_threshold`: the
 *   open-set threshold for a 10x stricter target FPIR, see decision.ts);
 * - `pending` while it is not and its window is open (a later sighting can still join it);
 * - `unconfirmed` once its window has closed with too little: the person was probably there,
 *   but one weak sighting is also what a look-alike stranger gives. Kept, never deleted.
 *
 * Why sightings only under a caller's looser threshold do not count towards the two: the same
 * stranger walking past, or two strangers, get taken for one person in one window. Counting
 * every sighting confirmed 2 people in no frame at 0.59 and 37 at 0.75 in that bench; counting
 * only those under the open-set threshold (0.544 at 537 people), none. A looser threshold
 * records more matches; it does not confirm them.
 *
 * `unknown` records (no match) have no status (null). The status is derived when a record is
 * read, from counters both stores keep by atomic additions and the latest window end: sums and
 * maxima over the record's sightings, so it cannot depend on the order frames arrive in.
 */
import type { AttendanceStatus } from './attendance-status.js';
import type { AttendanceRecord, Sighting } from './store/types.js';

export { ATTENDANCE_STATUSES, type AttendanceStatus } from './attendance-status.js';

/** The counters the rule reads; both stores keep them under these names. */
export type EvidenceCounter = 'confirming_sightings' | 'strong_sightings';

/**
 * Enough evidence is ANY of these. Data, not code, so the stores can turn it into their query
 * for `status=` (SQLite: `confirming_sightings >= 2 OR strong_sightings >= 1`) without a second
 * copy of the rule.
 */
export const CONFIRMED_WHEN: readonly { counter: EvidenceCounter; atLeast: number }[] = [
  { counter: 'confirming_sightings', atLeast: 2 },
  { counter: 'strong_sightings', atLeast: 1 },
];

/** How much stricter (in target FPIR) the strong threshold is than the decision's. */
export const STRONG_FPIR_FACTOR = 10;

type Graded = Pick<Sighting, 'kind' | 'distance' | 'confirm_threshold' | 'strong_threshold'>;
const within = (s: Graded, limit: number | null) =>
  s.kind === 'match' && s.distance !== null && limit !== null && s.distance <= limit;

/** A match at or under its confirm threshold: two of them confirm a record. */
export const isConfirming = (s: Graded) => within(s, s.confirm_threshold);
/** A match at or under its strong threshold: it alone confirms a record. */
export const isStrong = (s: Graded) => within(s, s.strong_threshold);

export type EvidenceFields = Pick<AttendanceRecord, 'kind' | EvidenceCounter | 'window_closes_at'>;

/** Whether the counters meet CONFIRMED_WHEN. */
export function hasEnoughEvidence(r: Pick<AttendanceRecord, EvidenceCounter>): boolean {
  return CONFIRMED_WHEN.some((c) => r[c.counter] >= c.atLeast);
}

/**
 * The window is inclusive (a sighting exactly window_ms after the last one still joins), so it
 * is closed only once `now` is past its end. ISO-8601 UTC strings in one form compare as times.
 */
export const windowClosed = (windowClosesAt: string, now: string) => windowClosesAt < now;

/** The one rule: the status of a record at time `now` (ISO-8601 UTC); null for unknown faces. */
export function evidenceStatus(r: EvidenceFields, now: string): AttendanceStatus | null {
  if (r.kind !== 'match') return null;
  if (hasEnoughEvidence(r)) return 'confirmed';
  return windowClosed(r.window_closes_at, now) ? 'unconfirmed' : 'pending';
}

/**
 * What a `status=` filter asks of a match record, for the stores to translate: whether
 * CONFIRMED_WHEN holds and, when it does not, whether the window is closed at `now`.
 */
export function statusCondition(status: AttendanceStatus): { enough: boolean; closed?: boolean } {
  if (status === 'confirmed') return { enough: true };
  return { enough: false, closed: status === 'unconfirmed' };
}
