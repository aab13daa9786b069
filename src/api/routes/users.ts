import { Hono } from 'hono';
import { z } from 'zod';
import { ServiceError } from '../../shared/errors.js';
import { PageQuery } from '../../shared/schemas.js';
import type { ApiDeps } from '../deps.js';
import { parseWith } from '../validate.js';

const ListQuery = PageQuery.extend({ group: z.string().max(128).optional() });

/** Enrolled users: look up, list by group, and erase (with a receipt of what was erased). */
export function userRoutes(deps: ApiDeps): Hono {
  const { store, blobs, jobs } = deps;
  const app = new Hono();

  app.get('/api/v1/users', async (c) => {
    const q = parseWith(ListQuery, c.req.query());
    const page = await store.listUsers({
      limit: q.limit,
      ...(q.group !== undefined ? { group: q.group } : {}),
      ...(q.cursor ? { cursor: q.cursor } : {}),
    });
    return c.json(page);
  });

  app.get('/api/v1/users/:id', async (c) => {
    const user = await store.getUser(c.req.param('id'));
    if (!user) throw new ServiceError('USER_NOT_FOUND', `no user ${c.req.param('id')}`);
    return c.json(user);
  });

  /**
   * Erasure: the tombstone is written first, so an item already running cannot re-create the
   * user; queued items are removed with their photos and recorded as ERASED; workers are told
   * to drop the user from their galleries.
   */
  app.delete('/api/v1/users/:id', async (c) => {
    const userId = c.req.param('id');
    // Queued items first: one that started meanwhile is in flight, like those running now, and
    // needs the tombstone; an id with nothing stored and nothing in flight gets none.
    const removed = await jobs.removeQueuedEnrollments(userId);
    const inFlight = removed.length > 0 || (await jobs.enrollmentInFlight(userId));
    const erased = await store.deleteUser(userId, { tombstoneIfUnknown: inFlight });
    let photos = 0;
    for (const item of removed) {
      await Promise.all(item.photos.map((key) => blobs.delete(key)));
      photos += item.photos.length;
      await store.putItemResult({
        job_id: item.job_id,
        index: item.index,
        ref: userId,
        outcome: 'ERASED',
        ok: false,
        detail: { error: 'the user was erased before this item ran' },
        finished_at: new Date().toISOString(),
      });
    }
    const crops = await store.eraseAttendancePhotos(userId);
    await Promise.all(crops.map((key) => blobs.delete(key)));
    photos += crops.length;
    await jobs.galleryChanged(userId);
    if (!erased && !inFlight && crops.length === 0)
      throw new ServiceError('USER_NOT_FOUND', `no user ${userId}`);
    return c.json({
      user_id: userId,
      erased_at: erased?.erased_at ?? new Date().toISOString(),
      templates_erased: erased?.templates_erased ?? 0,
      attendance_records_kept: erased?.attendance_records_kept ?? 0,
      queued_items_removed: removed.length,
      photos_erased: photos,
    });
  });
  return app;
}
