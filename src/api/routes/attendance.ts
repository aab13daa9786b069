import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { csvRecords } from '../../shared/csv.js';
import { ServiceError } from '../../shared/errors.js';
import {
  ATTENDANCE_BATCH_JOB,
  ATTENDANCE_FRAME_JOB,
  IDENTIFY_JOB,
  type AttendanceFrameData,
} from '../../shared/jobs/index.js';
import {
  AttendanceListQuery,
  AttendanceRequest,
  IdentifyRequest,
  type AttendanceRequest as AttendanceBody,
} from '../../shared/schemas.js';
import { assertSupportedImage, decodeBase64Image } from '../../shared/image-input.js';
import { acceptBatch, batchLimit, batchTooLarge, photoOrError } from '../batch-intake.js';
import { limitBody } from '../body-limit.js';
import { prescanJson } from '../json-prescan.js';
import type { ApiDeps } from '../deps.js';
import { idempotent, sha256 } from '../idempotency.js';
import { isMultipart, readMultipart } from '../multipart.js';
import { parseWith, readBody, readJson } from '../validate.js';

/** 1:N identification (sync) and camera attendance batches (async), plus the records. */
export function attendanceRoutes(deps: ApiDeps): Hono {
  const { config } = deps;
  const app = new Hono();

  app.post('/api/v1/identify', limitBody(config.maxBodyBytes), async (c) => {
    const arrivedAt = Date.now(); // SYNC_TIMEOUT_MS counts from here, as in /embed
    const req = await readJson(c, IdentifyRequest);
    const bytes = decodeBase64Image(req.image);
    assertSupportedImage(bytes);
    const result = await deps.jobs.runSync(
      IDENTIFY_JOB,
      {
        image: bytes.toString('base64'),
        top_k: req.top_k,
        ...(req.threshold !== undefined ? { threshold: req.threshold } : {}),
        ...(req.group !== undefined ? { group: req.group } : {}),
      },
      config.syncTimeoutMs,
      arrivedAt,
    );
    return c.json(result);
  });

  app.post('/api/v1/attendance', limitBody(config.maxBatchBodyBytes), async (c) => {
    const req = isMultipart(c) ? await fromMultipart(c, deps) : await fromJson(c, deps);
    // 1:N: a stranger is compared with every enrolled person, so without a caller's threshold the
    // worker takes the open-set one for the gallery size (ATTENDANCE_TARGET_FPIR).
    const threshold = req.threshold ?? null;
    return idempotent(c, deps.store, req.digest, async () => {
      const body = await acceptBatch(deps, {
        type: 'attendance',
        parent: ATTENDANCE_BATCH_JOB,
        child: ATTENDANCE_FRAME_JOB,
        webhookUrl: req.webhook_url,
        webhookSecret: req.webhook_secret,
        items: req.frames.map((frame) => ({
          ref: req.camera_id,
          photos: [frame.photo],
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

interface AttendanceUpload extends Omit<AttendanceBody, 'frames'> {
  frames: { photo: Buffer | ServiceError; captured_at: string }[];
  digest: string;
}

async function fromJson(c: Context, deps: ApiDeps): Promise<AttendanceUpload> {
  const raw = await readBody(c);
  const req = await readJson(c, AttendanceRequest, { bytes: raw, limits: [batchLimit(deps, 'frames')] });
  return {
    ...req,
    frames: req.frames.map((f, i) => ({
      photo: photoOrError(f.image, `frames.${i}.image`),
      captured_at: f.captured_at,
    })),
    digest: sha256(raw),
  };
}

/** Form fields are text: a threshold must be a number written out ("" used to become 0). */
const MultipartFields = AttendanceRequest.omit({ frames: true, threshold: true }).extend({
  threshold: z
    .string()
    .regex(/^\d+(\.\d+)?$/, 'must be a non-negative number')
    .transform(Number)
    .optional(),
});
const ManifestFrames = z
  .array(
    z.object({
      file: z.string().min(1),
      captured_at: AttendanceRequest.shape.frames.element.shape.captured_at,
    }),
  )
  .min(1);

/**
 * Multipart: fields camera_id, group?, webhook_url?, threshold?, a `manifest` (CSV with columns
 * file,captured_at or JSON [{file, captured_at}]) and the frame files, matched by file name.
 */
async function fromMultipart(c: Context, deps: ApiDeps): Promise<AttendanceUpload> {
  const upload = await readMultipart(c);
  const fields = parseWith(MultipartFields, upload.fields);
  let listed: unknown;
  if (upload.manifest.trimStart().startsWith('[')) {
    prescanJson(Buffer.from(`{"frames":${upload.manifest}}`), [batchLimit(deps, 'frames')]);
    try {
      listed = JSON.parse(upload.manifest);
    } catch {
      throw new ServiceError('INVALID_REQUEST', 'manifest is not valid JSON', { field: 'manifest' });
    }
  } else
    listed = csvRecords(upload.manifest, {
      required: [['file'], ['captured_at']],
      expected: 'file,captured_at',
      field: 'manifest',
    });
  // Counted before any entry is validated or any file read.
  if (Array.isArray(listed) && listed.length > deps.config.maxBatchItems) {
    throw batchTooLarge(deps.config.maxBatchItems);
  }
  const frames = parseWith(ManifestFrames, listed, 'manifest');
  const withPhotos = [];
  for (const [i, f] of frames.entries()) {
    withPhotos.push({ photo: await upload.file(f.file, `frames.${i}`), captured_at: f.captured_at });
  }
  return { ...fields, frames: withPhotos, digest: upload.digest() };
}
