import { createHash } from 'node:crypto';
import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import { ServiceError } from '../../shared/errors.js';
import { base64PhotoForJob } from '../../shared/image-input.js';
import { SIGHTINGS_SEARCH_JOB } from '../../shared/jobs/index.js';
import { PageQuery, UserId } from '../../shared/schemas.js';
import type { UnknownPerson } from '../../shared/store/index.js';
import { bestFirst, EXEMPLARS } from '../../shared/unknowns.js';
import { limitBody } from '../body-limit.js';
import type { ApiDeps } from '../deps.js';
import { readJson } from '../validate.js';
import { errors, idParam, jsonBody, ok, routeApp } from '../docs/openapi-kit.js';
import {
  Page,
  SightingsSearchResponse,
  UnknownEnrolled,
  UnknownPerson as UnknownPersonView,
  UnknownPersonDetail,
} from '../docs/responses.js';

const ListQuery = PageQuery.extend({
  camera_id: z.string().max(128).optional().describe('Only persons seen by this camera'),
});
const UnknownId = idParam('unk_7d1c4b2a9e0f3c6b5a4d2e1f', 'The unknown_id of an unknown person');
const AttendanceId = idParam('3f9a0c1d-5b2e-4c7a-9d8e-1f0a2b3c4d5e', 'The attendance_id of a record');
const EnrollBody = z.object({
  user_id: UserId,
  name: z.string().min(1).max(256),
  group: z.string().min(1).max(128).optional(),
});
const SearchBody = z.object({
  image: z.string().min(1),
  limit: z.number().int().min(1).max(100).default(20),
});
/** Records of one person shown by GET /unknowns/:id. */
const RECORDS_SHOWN = 100;

const photoUrl = (attendanceId: string) => `/api/v1/attendance/${encodeURIComponent(attendanceId)}/photo`;
const view = (p: UnknownPerson) => ({ ...p, best_photo_url: photoUrl(p.best_attendance_id) });

/** Unknown people (src/shared/unknowns.ts): listed, looked at, enrolled; faces searched; crops served. */
export function unknownRoutes(deps: ApiDeps) {
  const { store, blobs, config } = deps;
  const app = routeApp();

  const person = async (id: string) => {
    const p = await store.getUnknownPerson(id);
    if (!p) throw new ServiceError('NOT_FOUND', `no unknown person ${id}`);
    return p;
  };

  const list = createRoute({
    method: 'get',
    path: '/unknowns',
    operationId: 'listUnknowns',
    tags: ['Unknown persons'],
    summary: 'Unknown persons: unknown faces grouped across frames, cameras and batches',
    request: { query: ListQuery },
    responses: {
      200: ok(Page(UnknownPersonView).openapi('UnknownPersonPage'), 'A page of unknown persons'),
      ...errors('INVALID_REQUEST', 'UNAUTHORIZED'),
    },
  });
  app.openapi(list, async (c) => {
    const q = c.req.valid('query');
    const page = await store.listUnknownPersons({
      limit: q.limit,
      ...(q.camera_id !== undefined ? { camera_id: q.camera_id } : {}),
      ...(q.cursor ? { cursor: q.cursor } : {}),
    });
    return c.json({ items: page.items.map(view), next_cursor: page.next_cursor }, 200);
  });

  const one = createRoute({
    method: 'get',
    path: '/unknowns/{id}',
    operationId: 'getUnknown',
    tags: ['Unknown persons'],
    summary: `One unknown person with up to ${RECORDS_SHOWN} of its records`,
    request: { params: UnknownId },
    responses: { 200: ok(UnknownPersonDetail, 'The person'), ...errors('UNAUTHORIZED', 'NOT_FOUND') },
  });
  app.openapi(one, async (c) => {
    const p = await person(c.req.valid('param').id);
    const sightings = (await store.unknownSightings({ unknown_id: p.unknown_id })).slice(0, RECORDS_SHOWN);
    const records = sightings.map((s) => ({
      attendance_id: s.attendance_id,
      camera_id: s.camera_id,
      captured_at: s.captured_at,
      face_size: s.face_size,
      photo_url: photoUrl(s.attendance_id),
      job_id: s.job_id,
    }));
    return c.json({ ...view(p), records }, 200);
  });

  /**
   * An unknown person becomes an enrolled user: one template per best sighting (up to
   * EXEMPLARS, from their stored embeddings; photo_sha256 derived from the sighting id, so a
   * repeated call adds nothing), its records re-labelled as the user's, the person removed, and
   * every worker told the gallery changed.
   */
  const enroll = createRoute({
    method: 'post',
    path: '/unknowns/{id}/enroll',
    operationId: 'enrollUnknown',
    tags: ['Unknown persons'],
    summary: "Enroll an unknown person; its records become the user's",
    middleware: [limitBody(64 * 1024)] as const,
    request: {
      params: UnknownId,
      body: jsonBody(app, 'UnknownEnrollRequest', EnrollBody, {
        user_id: 'emp-3077',
        name: 'Visitor from site B',
        group: 'site-a',
      }),
    },
    responses: {
      200: ok(UnknownEnrolled, 'Enrolled'),
      ...errors(
        'INVALID_REQUEST',
        'UNAUTHORIZED',
        'UNSUPPORTED_MEDIA_TYPE',
        'NOT_FOUND',
        'PAYLOAD_TOO_LARGE',
      ),
    },
  });
  app.openapi(enroll, async (c) => {
    const body = await readJson(c, EnrollBody);
    const p = await person(c.req.valid('param').id);
    const best = bestFirst(await store.unknownSightings({ unknown_id: p.unknown_id })).slice(0, EXEMPLARS);
    if (best.length === 0)
      throw new ServiceError('NOT_FOUND', `unknown person ${p.unknown_id} has no sightings left`);
    const user = { user_id: body.user_id, name: body.name, group: body.group ?? null, metadata: {} };
    let outcome = 'UPDATED';
    for (const s of best) {
      const photo_sha256 = createHash('sha256').update(`unknown-sighting:${s.sighting_id}`).digest('hex');
      const template = {
        model: deps.manifest.embedding_model_id,
        embedding: s.embedding,
        // Not measured on the stored crop: the detector's score is not kept for unknown faces.
        detection_score: 1,
        quality: { face_size: s.face_size, sharpness: 0 },
        photo_sha256,
      };
      if ((await store.enroll(user, template, 'add')) === 'ENROLLED') outcome = 'ENROLLED';
    }
    const relabelled = await store.relabelUnknown(p.unknown_id, user);
    await store.deleteUnknownPerson(p.unknown_id);
    await deps.gallery.changed(user.user_id);
    return c.json(
      {
        unknown_id: p.unknown_id,
        user_id: user.user_id,
        outcome,
        templates: best.length,
        records_relabelled: relabelled,
      },
      200,
    );
  });

  const search = createRoute({
    method: 'post',
    path: '/sightings/search',
    operationId: 'searchSightings',
    tags: ['Unknown persons'],
    summary: "Where and when a face was seen: the enrolled user's and unknown persons' records",
    middleware: [limitBody(config.maxBodyBytes)] as const,
    request: {
      body: jsonBody(app, 'SightingsSearchRequest', SearchBody, { image: '/9j/4AAQ…', limit: 20 }),
    },
    responses: {
      200: ok(SightingsSearchResponse, 'Each face found with its records'),
      ...errors(
        'INVALID_REQUEST',
        'INVALID_IMAGE',
        'UNAUTHORIZED',
        'UNSUPPORTED_MEDIA_TYPE',
        'PAYLOAD_TOO_LARGE',
        'NO_FACE_DETECTED',
        'SERVICE_UNAVAILABLE',
        'TIMEOUT',
      ),
    },
  });
  app.openapi(search, async (c) => {
    const arrivedAt = Date.now();
    const req = await readJson(c, SearchBody);
    const image = base64PhotoForJob(req.image);
    const result = await deps.jobs.runSync(
      SIGHTINGS_SEARCH_JOB,
      { image, limit: req.limit },
      config.syncTimeoutMs,
      arrivedAt,
    );
    return c.json(result, 200);
  });

  /** The record's face crop (the best sighting's), behind the API key like the rest of /api. */
  const photo = createRoute({
    method: 'get',
    path: '/attendance/{id}/photo',
    operationId: 'getAttendancePhoto',
    tags: ['Attendance'],
    summary: "The record's face crop",
    request: { params: AttendanceId },
    responses: {
      200: {
        description: 'The aligned face crop',
        content: { 'image/jpeg': { schema: { type: 'string', format: 'binary' } } },
      },
      ...errors('UNAUTHORIZED', 'NOT_FOUND'),
    },
  });
  app.openapi(photo, async (c) => {
    const { id } = c.req.valid('param');
    const record = await store.getAttendance(id);
    const key = record?.thumbnail;
    const bytes = key ? await blobs.get(key) : undefined;
    if (!bytes) throw new ServiceError('NOT_FOUND', `no photo for attendance record ${id}`);
    return c.body(new Uint8Array(bytes), 200, {
      'content-type': 'image/jpeg',
      'cache-control': 'private, no-store',
    });
  });
  return app;
}
