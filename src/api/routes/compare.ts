import { Hono } from 'hono';
import { limitBody } from '../body-limit.js';
import { runCompare } from '../compare/compare-pool.js';
import type { ApiDeps } from '../deps.js';

/** POST /api/v1/compare — arithmetic only, so it runs in the API process (on a pool thread). */
export function compareRoutes(deps: ApiDeps): Hono {
  const { config } = deps;
  const app = new Hono();
  app.post('/api/v1/compare', limitBody(config.maxCompareBodyBytes), async (c) => {
    return c.json(await runCompare(await c.req.arrayBuffer(), config.maxReferences));
  });
  return app;
}
