import { Hono } from 'hono';
import {
  ATTENDANCE_BATCH_JOB,
  ATTENDANCE_FRAME_JOB,
  IDENTIFY_JOB,
  type AttendanceFrameData,
} from '../../shared/jobs/index.js';
import { AttendanceListQuery, AttendanceRequest, IdentifyRequest } from '../../shared/schemas.js';
import { THRESHOLDS } from '../../shared/thresholds.js';
import { assertSupportedImage, decodeBase64Image } from '../../shared/image-input.js';
import { acceptBatch, photoOrError } from '../batch-intake.js';
import { limitBody } from '../body-limit.js';
import type { ApiDeps } from '../deps.js';
import { idempotent, sha256 } from '../idempotency.js';
import { parseWith, readJson } from '../validate.js';

/** 1:N identification (sync) and camera attendance batches (async), plus the records. */
export function attendanceRoutes(deps: ApiDeps): Hono {
  const { config } = deps;
  const app = new Hono();

  app.post('/api/v1/identify', limitBody(config.maxBodyBytes), async (c) => {
    const req = await readJson(c, IdentifyRequest);
    const bytes = decodeBase64Image(req.image);
    assertSupportedImage(bytes);
    const result = await deps.jobs.runSync(
      IDENTIFY_JOB,
      {
        image: bytes.toString('base64'),
        top_k: req.top_k,
        threshold: req.threshold ?? THRESHOLDS.cosine.balanced,
        ...(req.group !== undefined ? { group: req.group } : {}),
      },
      config.syncTimeoutMs,
    );
    return c.json(result);
  });

  app.post('/api/v1/attendance', limitBody(config.maxBatchBodyBytes), async (c) => {
    const raw = await c.req.text();
    const req = await readJson(c, AttendanceRequest, { text: raw });
    // 1:N: a stranger is compared with every enrolled person, so the per-comparison false accept
    // rate is multiplied by the gallery size; attendance defaults to the high-security threshold.
    const threshold = req.threshold ?? THRESHOLDS.cosine.high_security;
    return idempotent(c, deps.store, sha256(raw), async () => {
      const body = await acceptBatch(deps, {
        type: 'attendance',
        parent: ATTENDANCE_BATCH_JOB,
        child: ATTENDANCE_FRAME_JOB,
        webhookUrl: req.webhook_url,
        items: req.frames.map((frame, i) => ({
          ref: req.camera_id,
          photos: [photoOrError(frame.image, `frames.${i}.image`)],
          data: (job_id, index, [photo]): AttendanceFrameData => ({
            job_id,
            index,
            camera_id: req.camera_id,
            captured_at: frame.captured_at,
            group: req.group ?? null,
            photo: photo ?? '',
            threshold,
            window_ms: config.attendanceWindowMs,
          }),
        })),
      });
      return { status: 202, body };
    });
  });

  app.get('/api/v1/attendance', async (c) => {
    const q = parseWith(AttendanceListQuery, c.req.query());
    const { cursor, ...filters } = q;
    const page = await deps.store.listAttendance({ ...filters, ...(cursor ? { cursor } : {}) });
    return c.json(page);
  });
  return app;
}
