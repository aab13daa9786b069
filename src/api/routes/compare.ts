import { createRoute } from '@hono/zod-openapi';
import { CompareRequest, CompareResponse } from '../../shared/schemas.js';
import { limitBody } from '../body-limit.js';
import { requireBodyType } from '../content-type.js';
import { runCompare } from '../compare/compare-pool.js';
import type { ApiDeps } from '../deps.js';
import { errors, jsonBody, named, ok, routeApp } from '../docs/openapi-kit.js';

/** POST /compare — arithmetic only, so it runs in the API process (on a pool thread). */
export function compareRoutes(deps: ApiDeps) {
  const { config } = deps;
  const pack = { model: deps.manifest.embedding_model_id, thresholds: deps.openSet.thresholds };
  const app = routeApp();
  const route = createRoute({
    method: 'post',
    path: '/compare',
    operationId: 'compareEmbeddings',
    tags: ['Embeddings'],
    summary: 'Rank reference embeddings by distance to a query embedding',
    middleware: [limitBody(config.maxCompareBodyBytes)] as const,
    request: {
      // Validated with this schema on a pool thread (compare-pool.ts), off the event loop.
      body: jsonBody(app, 'CompareRequest', CompareRequest, {
        query_embedding: [0.031, -0.044, 0.012],
        reference_embeddings: [
          { id: 'emp-1042', embedding: [0.029, -0.041, 0.015] },
          { id: 'emp-2001', embedding: [-0.052, 0.013, 0.07] },
        ],
        distance_metric: 'cosine',
        top_k: 5,
      }),
    },
    responses: {
      200: ok(named('CompareResponse', CompareResponse), 'Matches, nearest first'),
      ...errors(
        'INVALID_REQUEST',
        'INVALID_EMBEDDING',
        'DIMENSION_MISMATCH',
        'EMPTY_REFERENCES',
        'MODEL_MISMATCH',
        'UNAUTHORIZED',
        'UNSUPPORTED_MEDIA_TYPE',
        'PAYLOAD_TOO_LARGE',
        'TOO_MANY_REFERENCES',
      ),
    },
  });
  app.openapi(route, async (c) => {
    requireBodyType(c);
    return c.json(await runCompare(await c.req.arrayBuffer(), config.maxReferences, pack), 200);
  });
  return app;
}
