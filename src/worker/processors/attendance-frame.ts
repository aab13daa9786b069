import type { AttendanceFrameData, ItemJobResult } from '../../shared/jobs/index.js';
import { readPhoto, runItem } from '../batch-item.js';
import { decisionFor, evidenceThresholds } from '../../shared/decision.js';
import { analyseOptions } from './analyse-options.js';
import type { ProcessorDeps } from './types.js';

const round4 = (v: number) => Math.round(v * 10000) / 10000;

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
): Promise<ItemJobResult> {
  return runItem(
    deps,
    { job_id: data.job_id, index: data.index, ref: data.camera_id, photos: [data.photo] },
    async () => {
      const bytes = await readPhoto(deps, data.photo);
      const result = await deps.pool.analyse(
        bytes,
        { ...analyseOptions(deps.config, 'all'), thumbnails: true },
        true,
      );
      deps.metrics?.observeStages(result.timings);
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
  );
}
