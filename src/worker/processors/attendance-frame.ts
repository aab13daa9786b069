import type { AttendanceFrameData, ItemJobResult } from '../../shared/jobs/index.js';
import { readPhoto, runItem, type ItemRun } from '../batch-item.js';
import { decisionFor, evidenceThresholds } from '../../shared/decision.js';
import { analyseOptions } from './analyse-options.js';
import type { ProcessorDeps } from './types.js';

const round4 = (v: number) => Math.round(v * 10000) / 10000;
/**
 * An erasure this close before the gallery was read may not have reached this worker's index
 * yet (it re-checks the change stream every 250 ms); 1 s leaves room for clocks too.
 */
const ERASURE_SLACK_MS = 1000;

/**
 * A person erased while this frame was being matched: the erasure may have detached their
 * crops before these sightings were recorded, so erase again now. Both orders end clean: the
 * erasure's tombstone comes before it reads the crops, and this check after the writes.
 */
async function eraseCropsOfErased(
  deps: ProcessorDeps,
  faces: { user_id: string | null }[],
  searchedAt: number,
): Promise<void> {
  const users = new Set(faces.flatMap((f) => (f.user_id ? [f.user_id] : [])));
  for (const userId of users) {
    const at = await deps.store.erasedAt(userId);
    if (at === undefined || Date.parse(at) < searchedAt - ERASURE_SLACK_MS) continue;
    const crops = await deps.store.eraseAttendancePhotos(userId);
    await Promise.all(crops.map((key) => deps.blobs.delete(key)));
  }
}

/**
 * One camera frame: every face is identified; a match within the threshold becomes (or extends)
 * an attendance record, anything else an `unknown` record keeping its embedding. A frame with
 * no face is normal. Sighting ids are derived from job, frame and face, so a frame processed
 * twice (a retry after a crash) records nothing twice. Each sighting carries what its record's
 * status is decided on (src/shared/evidence.ts): its threshold, the confirm and strong
 * thresholds, and the margin to the second-nearest person (hence topK 2).
 */
export async function processAttendanceFrame(
  data: AttendanceFrameData,
  deps: ProcessorDeps,
  job?: ItemRun,
): Promise<ItemJobResult> {
  return runItem(
    deps,
    { job_id: data.job_id, index: data.index, ref: data.camera_id, photos: [data.photo] },
    async () => {
      const bytes = await readPhoto(deps, data.photo);
      const result = await deps.pool.analyse(
        bytes,
        analyseOptions(deps.config, 'all', { thumbnails: true }),
        { handOver: 'transfer' },
      );
      deps.metrics?.observeStages(result.timings);
      const searchedAt = Date.now();
      const gallery = await deps.gallery.fresh();
      const gallerySize = gallery.sizeOf(data.group ?? undefined);
      const decided = decisionFor(deps, 'attendance', gallerySize, data.threshold);
      const decision = { ...decided, ...evidenceThresholds(deps, gallerySize, decided.threshold) };
      const faces = [];
      for (const [i, face] of result.faces.entries()) {
        const [best, second] = await gallery.search(face.embedding, {
          topK: 2,
          ...(data.group !== null ? { group: data.group } : {}),
        });
        const matched = best !== undefined && best.distance <= decision.threshold;
        const margin = best && second ? round4(second.distance - best.distance) : null;
        const thumbnail = face.thumbnail ? `thumbs/${data.job_id}/${data.index}-${i}.jpg` : null;
        if (thumbnail && face.thumbnail) await deps.blobs.put(thumbnail, face.thumbnail);
        const { attendance_id } = await deps.store.recordSighting(
          {
            sighting_id: `${data.job_id}:${data.index}:${i}`,
            kind: matched ? 'match' : 'unknown',
            user_id: matched ? best.user_id : null,
            name: matched ? best.name : null,
            group: matched ? best.group : data.group,
            camera_id: data.camera_id,
            captured_at: data.captured_at,
            similarity: best ? round4(best.similarity) : null,
            distance: best ? round4(best.distance) : null,
            margin,
            threshold: decision.threshold,
            confirm_threshold: decision.confirm_threshold,
            strong_threshold: decision.strong_threshold,
            bbox: face.bbox,
            thumbnail,
            embedding: matched ? null : face.embedding,
            job_id: data.job_id,
          },
          data.window_ms,
        );
        faces.push({
          bbox: face.bbox,
          attendance_id,
          kind: matched ? 'match' : 'unknown',
          user_id: matched ? best.user_id : null,
          distance: best ? round4(best.distance) : null,
          margin,
        });
      }
      await eraseCropsOfErased(deps, faces, searchedAt);
      const matched = faces.filter((f) => f.kind === 'match').length;
      return {
        outcome: 'PROCESSED',
        ok: true,
        detail: {
          captured_at: data.captured_at,
          faces: faces.length,
          matched,
          unknown: faces.length - matched,
          decision,
          detections: faces,
        },
      };
    },
    job,
  );
}
