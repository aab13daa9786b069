import type { EvidenceCounter } from '../../evidence.js';
import type { BestSighting } from '../rules/attendance-window.js';
import type { AttendanceDoc } from './collections.js';

/**
 * How an attendance document is read, once for the API's view (attendance.ts) and the window
 * rule's state (sightings.ts): a document from before the evidence fields lacks them; its
 * sightings were matches at the threshold of the time (each confirming, as the SQLite migration
 * sets them), none strong, its window closed at its last sighting. (Read twice, the two readings
 * had drifted: a sighting chaining onto such a record lost its confirming count.)
 */
export const LEGACY: Record<EvidenceCounter, 'sightings' | null> = {
  confirming_sightings: 'sightings',
  strong_sightings: null,
};

const counter = (d: AttendanceDoc, c: EvidenceCounter) => {
  const legacy = LEGACY[c];
  return d[c] ?? (legacy && d.kind === 'match' ? d[legacy] : 0);
};

export const evidenceOf = (d: AttendanceDoc) => ({
  confirming_sightings: counter(d, 'confirming_sightings'),
  strong_sightings: counter(d, 'strong_sightings'),
  window_closes_at: d.window_closes_at ?? d.last_seen,
});

/** The best sighting's fields (FerretDB leaves absent ones out: read back as null). */
export const bestOf = (d: AttendanceDoc): BestSighting => ({
  similarity_score: d.similarity_score,
  distance: d.distance,
  margin: d.margin ?? null,
  threshold: d.threshold ?? null,
  confirm_threshold: d.confirm_threshold ?? null,
  strong_threshold: d.strong_threshold ?? null,
  bbox: { x: d.bbox.x, y: d.bbox.y, width: d.bbox.width, height: d.bbox.height },
  thumbnail: d.thumbnail,
});
