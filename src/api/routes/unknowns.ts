import { createHash } from 'node:crypto';
import { Hono } from 'hono';
import { z } from 'zod';
import { ServiceError } from '../../shared/errors.js';
import { assertSupportedImage, decodeBase64Image } from '../../shared/image-input.js';
import { SIGHTINGS_SEARCH_JOB } from '../../shared/jobs/index.js';
import { PageQuery, UserId } from '../../shared/schemas.js';
import type { UnknownPerson } from '../../shared/store/index.js';
import { bestFirst, EXEMPLARS } from '../../shared/unknowns.js';
import { limitBody } from '../body-limit.js';
import type { ApiDeps } from '../deps.js';
import { parseWith, readJson } from '../validate.js';

const ListQuery = PageQuery.extend({ camera_id: z.string().max(128).optional() });
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
export function unknownRoutes(deps: ApiDeps): Hono {
  const { store, blobs, config } = deps;
  const app = new Hono();

  const person = async (id: string) => {
    const p = await store.getUnknownPerson(id);
    if (!p) throw new ServiceError('NOT_FOUND', `no unknown person ${id}`);
    return p;
  };

  app.get('/api/v1/unknowns', async (c) => {
    const q = parseWith(ListQuery, c.req.query());
    const page = await store.listUnknownPersons({
      limit: q.limit,
      ...(q.camera_id !== undefined ? { camera_id: q.camera_id } : {}),
      ...(q.cursor ? { cursor: q.cursor } : {}),
    });
    return c.json({ items: page.items.map(view), next_cursor: page.next_cursor });
  });

  app.get('/api/v1/unknowns/:id', async (c) => {
    const p = await person(c.req.param('id'));
    const sightings = (await store.unknownSightings({ unknown_id: p.unknown_id })).slice(0, RECORDS_SHOWN);
    const records = sightings.map((s) => ({
      attendance_id: s.attendance_id,
      camera_id: s.camera_id,
      captured_at: s.captured_at,
      face_size: s.face_size,
      photo_url: photoUrl(s.attendance_id),
      job_id: s.job_id,
    }));
    return c.json({ ...view(p), records });
  });

  /**
   * An unknown person becomes an enrolled user: one template per best sighting (up to
   * EXEMPLARS, from their stored embeddings; photo_sha256 derived from the sighting id, so a
   * repeated call adds nothing), its records re-labelled as the user's, the person removed, and
   * every worker told the gallery changed.
   */
  app.post('/api/v1/unknowns/:id/enroll', limitBody(64 * 1024), async (c) => {
    const body = await readJson(c, EnrollBody);
    const p = await person(c.req.param('id'));
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
    await deps.jobs.galleryChanged(user.user_id);
    return c.json({
      unknown_id: p.unknown_id,
      user_id: user.user_id,
      outcome,
      templates: best.length,
      records_relabelled: relabelled,
    });
  });

  app.post('/api/v1/sightings/search', limitBody(config.maxBodyBytes), async (c) => {
    const arrivedAt = Date.now();
    const req = await readJson(c, SearchBody);
    const bytes = decodeBase64Image(req.image);
    assertSupportedImage(bytes);
    const result = await deps.jobs.runSync(
      SIGHTINGS_SEARCH_JOB,
      { image: bytes.toString('base64'), limit: req.limit },
      config.syncTimeoutMs,
      arrivedAt,
    );
    return c.json(result);
  });

  /** The record's face crop (the best sighting's), behind the API key like the rest of /api. */
  app.get('/api/v1/attendance/:id/photo', async (c) => {
    const record = await store.getAttendance(c.req.param('id'));
    const key = record?.thumbnail;
    const bytes = key ? await blobs.get(key) : undefined;
    if (!bytes) throw new ServiceError('NOT_FOUND', `no photo for attendance record ${c.req.param('id')}`);
    return c.body(new Uint8Array(bytes), 200, {
      'content-type': 'image/jpeg',
      'cache-control': 'private, no-store',
    });
  });
  return app;
}
