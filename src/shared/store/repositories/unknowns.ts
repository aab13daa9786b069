import type { Page, UnknownPerson, UnknownSighting, UnknownSightingQuery } from '../types.js';

/** Unknown people (issue 8 §6): unknown faces grouped into persons, and enrolled later. */
export interface UnknownRepository {
  /** Unknown faces with embeddings (kind 'unknown' only), in (captured_at, sighting_id) order. */
  unknownSightings(query: UnknownSightingQuery): Promise<UnknownSighting[]>;
  /** Puts an unknown record into an unknown person. */
  setUnknownId(attendanceId: string, unknownId: string): Promise<void>;
  /**
   * An unknown person enrolled: its unknown records become match records of the user (their
   * embeddings dropped: they are templates now). Returns how many.
   */
  relabelUnknown(
    unknownId: string,
    user: { user_id: string; name: string; group: string | null },
  ): Promise<number>;
  /** Upsert by unknown_id. */
  putUnknownPerson(person: UnknownPerson): Promise<void>;
  getUnknownPerson(unknownId: string): Promise<UnknownPerson | undefined>;
  deleteUnknownPerson(unknownId: string): Promise<void>;
  /** In (first_seen, unknown_id) order; with camera_id, only those seen by that camera. */
  listUnknownPersons(query: {
    camera_id?: string;
    cursor?: string;
    limit: number;
  }): Promise<Page<UnknownPerson>>;
}
