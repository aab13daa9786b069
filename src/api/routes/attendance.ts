import { createRoute } from '@hono/zod-openapi';
import type { Context } from 'hono';
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
import { base64PhotoForJob } from '../../shared/image-input.js';
import { acceptBatchOnce, batchLimit, batchTooLarge, photoOrError } from '../batch-intake.js';
import { limitBody } from '../body-limit.js';
import { prescanJson } from '../json-prescan.js';
import type { ApiDeps } from '../deps.js';
import { sha256 } from '../idempotency.js';
import { isMultipart, readMultipart } from '../multipart.js';
import { parseWith, readBody, readJson } from '../validate.js';
import { BATCH_RESPONSES, IDEMPOTENCY_KEY, MULTIPART_MANIFEST } from '../docs/batches.js';
import { errors, jsonBody, ok, routeApp, untyped } from '../docs/openapi-kit.js';
import { AttendanceRecord, IdentifyResponse, Page } from '../docs/responses.js';

/** 1:N identification (sync) and camera attendance batches (async), plus the records. */
export function attendanceRoutes(deps: ApiDeps) {
  const { config } = deps;
  const app = routeApp();

  const identify = createRoute({
    method: 'post',
    path: '/identify',
    operationId: 'identifyFaces',
    tags: ['Identification'],
    summary: 'Every face in a photo with its nearest enrolled users (1:N)',
    middleware: [limitBody(config.maxBodyBytes)] as const,
    request: {
      body: jsonBody(app, 'IdentifyRequest', IdentifyRequest, {
        image: 'iVBORw0KGgo…',
        group: 'site-a',
        top_k: 5,
      }),
    },
    responses: {
      200: ok(IdentifyResponse, 'Faces and their candidates, nearest first'),
      ...errors(
        'INVALID_REQUEST',
        'INVALID_IMAGE',
        'UNAUTHORIZED',
        'UNSUPPORTED_MEDIA_TYPE',
        'PAYLOAD_TOO_LARGE',
        'IMAGE_TOO_LARGE',
        'SERVICE_UNAVAILABLE',
        'TIMEOUT',
      ),
    },
  });
  app.openapi(identify, async (c) => {
    const arrivedAt = Date.now(); // SYNC_TIMEOUT_MS counts from here, as in /embed
    const req = await readJson(c, IdentifyRequest);
    const image = base64PhotoForJob(req.image);
    const result = await deps.jobs.runSync(
      IDENTIFY_JOB,
      {
        image,
        top_k: req.top_k,
        ...(req.threshold !== undefined ? { threshold: req.threshold } : {}),
        ...(req.group !== undefined ? { group: req.group } : {}),
      },
      config.syncTimeoutMs,
      arrivedAt,
    );
    return c.json(result, 200);
  });

  const submit = createRoute({
    method: 'post',
    path: '/attendance',
    operationId: 'submitAttendance',
    tags: ['Attendance'],
    summary: 'Submit camera frames: faces are identified and recorded as attendance',
    description:
      'JSON with base64 frames, or multipart/form-data: fields camera_id, group?, webhook_url?, ' +
      'threshold?, a `manifest` (CSV with columns file,captured_at or JSON [{file, captured_at}]) ' +
      'and the frame files, matched by file name. Answers 202 with the job id.',
    middleware: [limitBody(config.maxBatchBodyBytes)] as const,
    request: {
      headers: IDEMPOTENCY_KEY,
      body: jsonBody(
        app,
        'AttendanceRequest',
        AttendanceRequest,
        {
          camera_id: 'gate-1',
          frames: [
            { image: '/9j/4AAQ…', captured_at: '2026-03-02T08:01:12Z' },
            { image: '/9j/4AAQ…', captured_at: '2026-03-02T08:01:14Z' },
          ],
          group: 'site-a',
        },
        MULTIPART_MANIFEST(
          ['camera_id', 'group', 'webhook_url', 'threshold'],
          'CSV with columns file,captured_at, or JSON [{file, captured_at}]',
        ),
      ),
    },
    responses: BATCH_RESPONSES('Accepted: the frames are queued'),
  });
  app.openapi(submit, async (c) => {
    const req = isMultipart(c) ? await fromMultipart(c, deps) : await fromJson(c, deps);
    // 1:N: a stranger is compared with every enrolled person, so without a caller's threshold the
    // worker takes the open-set one for the gallery size (ATTENDANCE_TARGET_FPIR).
    const threshold = req.threshold ?? null;
    const res = await acceptBatchOnce(c, deps, req.digest, () => ({
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
    }));
    return untyped(res);
  });

  const list = createRoute({
    method: 'get',
    path: '/attendance',
    operationId: 'listAttendance',
    tags: ['Attendance'],
    summary: 'Attendance records, oldest first, filtered and paged',
    request: { query: AttendanceListQuery },
    responses: {
      200: ok(Page(AttendanceRecord).openapi('AttendancePage'), 'A page of records'),
      ...errors('INVALID_REQUEST', 'UNAUTHORIZED'),
    },
  });
  app.openapi(list, async (c) => {
    const { cursor, ...filters } = c.req.valid('query');
    const page = await deps.store.listAttendance({ ...filters, ...(cursor ? { cursor } : {}) });
    return c.json(page, 200);
  });
  return app;
}

interface AttendanceUpload extends Omit<AttendanceBody, 'frames'> {
  frames: { photo: Buffer | ServiceError; captured_at: string }[];
  digest: string;
}

async function fromJson(c: Context, deps: ApiDeps): Promise<AttendanceUpload> {
  const raw = await readBody(c, ['json', 'multipart']);
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
