import { decodeBase64Image } from '../../shared/image-input.js';
import type {
  SearchedFace,
  SightingRecord,
  SightingsSearchData,
  SightingsSearchResult,
} from '../../shared/jobs/index.js';
import { decisionFor } from '../../shared/decision.js';
import type { AttendanceRecord, Store } from '../../shared/store/index.js';
import { groupingThreshold, UnknownIndex } from '../../shared/unknowns.js';
import { analyseOptions } from './analyse-options.js';
import type { ProcessorDeps } from './types.js';

const round4 = (v: number) => Math.round(v * 10000) / 10000;
/** Nearest unknown persons answered per face. */
const NEAREST_UNKNOWNS = 3;

const withoutEmbedding = ({ embedding: _, ...r }: AttendanceRecord): SightingRecord => r;

async function recordsOf(store: Store, userId: string, limit: number): Promise<SightingRecord[]> {
  return (await store.listAttendance({ user_id: userId, limit })).items.map(withoutEmbedding);
}

/**
 * Where and when a face was seen: each face of the photo against the enrolled gallery (at
 * attendance's open-set threshold, as a camera would have decided) and against the unknown
 * persons' exemplars (at the grouping threshold), with their records. Bounded: `limit` records
 * per person, NEAREST_UNKNOWNS unknown persons per face.
 */
export async function processSightingsSearch(
  data: SightingsSearchData,
  deps: ProcessorDeps,
): Promise<SightingsSearchResult> {
  const result = await deps.pool.analyse(decodeBase64Image(data.image), analyseOptions(deps.config, 'all'), {
    handOver: 'transfer',
  });
  const gallery = await deps.gallery.fresh();
  const { threshold } = decisionFor(deps, 'attendance', gallery.size);
  const grouped = await deps.store.unknownSightings({ grouped: true });
  const index = new UnknownIndex(grouped);
  const groupingAt = groupingThreshold(deps, index.exemplarCount);
  const faces: SearchedFace[] = [];
  for (const face of result.faces) {
    const [best] = await gallery.search(face.embedding, { topK: 1 });
    const user =
      best && best.distance <= threshold
        ? {
            user_id: best.user_id,
            name: best.name,
            distance: round4(best.distance),
            records: await recordsOf(deps.store, best.user_id, data.limit),
          }
        : null;
    const unknowns = [];
    for (const near of index.nearest(face.embedding, NEAREST_UNKNOWNS)) {
      const ids = index
        .sightingsOf(near.unknown_id)
        .slice(0, data.limit)
        .map((s) => s.attendance_id);
      const records = [];
      for (const id of ids) {
        const r = await deps.store.getAttendance(id);
        if (r) records.push(withoutEmbedding(r));
      }
      unknowns.push({
        unknown_id: near.unknown_id,
        distance: round4(near.distance),
        is_match: near.distance <= groupingAt,
        person: (await deps.store.getUnknownPerson(near.unknown_id)) ?? null,
        records,
      });
    }
    faces.push({ bbox: face.bbox, user, unknowns });
  }
  return { faces, threshold, grouping_threshold: groupingAt };
}
