import { createRoute } from '@hono/zod-openapi';
import type { ApiDeps } from '../deps.js';
import { errors, ok, routeApp } from '../docs/openapi-kit.js';
import { GroupList } from '../docs/responses.js';

const listRoute = createRoute({
  method: 'get',
  path: '/groups',
  operationId: 'listGroups',
  tags: ['Users'],
  summary: 'Every group with its number of users, by name (the ungrouped last)',
  description:
    'The groups users were enrolled in: the names `/identify`, `/attendance` and `GET /users?group=` take. ' +
    'Not paged: a deployment has one group per site or shift, not per person.',
  responses: { 200: ok(GroupList, 'The groups'), ...errors('UNAUTHORIZED') },
});

/** GET /groups: what `group` values exist, so a caller need not page through every user. */
export function groupRoutes(deps: ApiDeps) {
  const app = routeApp();
  app.openapi(listRoute, async (c) => c.json({ groups: await deps.store.listGroups() }, 200));
  return app;
}
