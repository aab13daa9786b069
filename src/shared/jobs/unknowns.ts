import { z } from 'zod';
import type { BoundingBox } from '../face-types.js';
import type { AttendanceRecord, UnknownPerson } from '../store/index.js';

/**
 * Unknown people (src/shared/unknowns.ts): an attendance batch's unknown faces grouped into
 * persons, queued by the batch's parent once its frames have finished, on a queue of its own
 * with global concurrency 1; and then the expiry sweep.
 */
export const UNKNOWNS_GROUP_JOB = 'unknowns-group' as const;

export const UnknownsGroupData = z.object({ job_id: z.string() });
export type UnknownsGroupData = z.infer<typeof UnknownsGroupData>;

export interface UnknownsGroupResult {
  grouped: number;
  new_persons: number;
  threshold: number | null;
  expired: { records: number; crops: number; persons_removed: number };
}

/** Sync: where and when a face was seen, enrolled or not (POST /api/v1/sightings/search). */
export const SIGHTINGS_SEARCH_JOB = 'sightings-search' as const;

export const SightingsSearchData = z.object({
  image: z.string(),
  /** Records per person answered (most recent first are not promised: oldest first, as listed). */
  limit: z.number().int().positive(),
});
export type SightingsSearchData = z.infer<typeof SightingsSearchData>;

/** A record as the search answers it: without the embedding. */
export type SightingRecord = Omit<AttendanceRecord, 'embedding'>;

export interface SearchedFace {
  bbox: BoundingBox;
  /** The enrolled person it matches (attendance's open-set threshold), with their records. */
  user: { user_id: string; name: string; distance: number; records: SightingRecord[] } | null;
  /** The nearest unknown persons; `is_match` when within the grouping threshold. */
  unknowns: {
    unknown_id: string;
    distance: number;
    is_match: boolean;
    person: UnknownPerson | null;
    records: SightingRecord[];
  }[];
}

export interface SightingsSearchResult {
  faces: SearchedFace[];
  threshold: number;
  grouping_threshold: number;
}
