import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import { ServiceError } from '../../shared/errors.js';
import { PageQuery } from '../../shared/schemas.js';
import type { ApiDeps } from '../deps.js';
import { errors, idParam, ok, routeApp } from '../docs/openapi-kit.js';
import { ErasureReceipt, Page, User } from '../docs/responses.js';

const ListQuery = PageQuery.extend({
  group: z.string().max(128).optional().describe('Only users enrolled in this group'),
});
const UserIdParam = idParam('emp-1042', 'The user_id given at enrollment');

const listRoute = createRoute({
  method: 'get',
  path: '/users',
  operationId: 'listUsers',
  tags: ['Users'],
  summary: 'Enrolled users, by user_id, paged',
  request: { query: ListQuery },
  responses: {
    200: ok(Page(User).openapi('UserPage'), 'A page of users'),
    ...errors('INVALID_REQUEST', 'UNAUTHORIZED'),
  },
});
const getRoute = createRoute({
  method: 'get',
  path: '/users/{id}',
  operationId: 'getUser',
  tags: ['Users'],
  summary: 'One user with template summaries',
  request: { params: UserIdParam },
  responses: { 200: ok(User, 'The user'), ...errors('UNAUTHORIZED', 'USER_NOT_FOUND') },
});
const eraseRoute = createRoute({
  method: 'delete',
  path: '/users/{id}',
  operationId: 'eraseUser',
  tags: ['Users'],
  summary: 'Erase a user: templates, photos, queued work; returns a receipt',
  request: { params: UserIdParam },
  responses: {
    200: ok(ErasureReceipt, 'What was erased'),
    ...errors('UNAUTHORIZED', 'USER_NOT_FOUND'),
  },
});

/** Enrolled users: look up, list by group, and erase (with a receipt of what was erased). */
export function userRoutes(deps: ApiDeps) {
  const { store, blobs, erasure, gallery } = deps;
  const app = routeApp();

  app.openapi(listRoute, async (c) => {
    const q = c.req.valid('query');
    const page = await store.listUsers({
      limit: q.limit,
      ...(q.group !== undefined ? { group: q.group } : {}),
      ...(q.cursor ? { cursor: q.cursor } : {}),
    });
    return c.json(page, 200);
  });

  app.openapi(getRoute, async (c) => {
    const { id } = c.req.valid('param');
    const user = await store.getUser(id);
    if (!user) throw new ServiceError('USER_NOT_FOUND', `no user ${id}`);
    return c.json(user, 200);
  });

  /**
   * Erasure: the tombstone is written first, so an item already running cannot re-create the
   * user; queued items are removed with their photos and recorded as ERASED; workers are told
   * to drop the user from their galleries.
   */
  app.openapi(eraseRoute, async (c) => {
    const userId = c.req.valid('param').id;
    // Queued items first: one that started meanwhile is in flight, like those running now, and
    // needs the tombstone; an id with nothing stored and nothing in flight gets none.
    const removed = await erasure.removeQueuedEnrollments(userId);
    const inFlight = removed.length > 0 || (await erasure.enrollmentInFlight(userId));
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
    await gallery.changed(userId);
    if (!erased && !inFlight && crops.length === 0)
      throw new ServiceError('USER_NOT_FOUND', `no user ${userId}`);
    return c.json(
      {
        user_id: userId,
        erased_at: erased?.erased_at ?? new Date().toISOString(),
        templates_erased: erased?.templates_erased ?? 0,
        attendance_records_kept: erased?.attendance_records_kept ?? 0,
        queued_items_removed: removed.length,
        photos_erased: photos,
      },
      200,
    );
  });
  return app;
}
