import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import { openSetSummary } from '../../shared/decision.js';
import type { ApiDeps } from '../deps.js';
import { errors, NO_AUTH, ok, routeApp, untyped } from '../docs/openapi-kit.js';
import { Health, Models } from '../docs/responses.js';

/** GET /models — what produces the embeddings and the thresholds calibrated for it. */
export function modelRoutes(deps: ApiDeps) {
  const app = routeApp();
  const route = createRoute({
    method: 'get',
    path: '/models',
    operationId: 'getModels',
    tags: ['Models'],
    summary: 'Model manifest, calibrated thresholds and the open-set thresholds for a gallery size',
    request: { query: ModelsQuery },
    responses: { 200: ok(Models, 'The models and thresholds'), ...errors('INVALID_REQUEST', 'UNAUTHORIZED') },
  });
  app.openapi(route, async (c) => {
    const q = c.req.valid('query');
    const gallerySize = q.gallery_size ?? (await announcedGallerySize(deps));
    return c.json(
      {
        embedding_model: deps.manifest.embedding_model_id,
        embedding_dim: deps.manifest.embedding_dim,
        source: deps.manifest.source,
        models: deps.manifest.models,
        thresholds: deps.openSet.thresholds,
        default_threshold: { level: 'balanced', cosine: deps.openSet.thresholds.cosine.balanced },
        threshold_notes:
          'Per comparison (1:1, /compare and a caller-given threshold): a match is distance <= threshold. ' +
          'Measured on LFW (lfw-dev, 2.8 M impostor pairs): high_security = FAR 1e-4 (TAR ~97 %), ' +
          'balanced = FAR 1e-3 (TAR ~98.5 %), convenience = EER (~0.9 %). ' +
          "The integration guide's generic 0.4 rejects most genuine users with this model. " +
          '1:N decisions (identify, attendance, the duplicate gate) use open_set: thresholds for the gallery size.',
        open_set: openSetSummary(deps, gallerySize),
      },
      200,
    );
  });
  return app;
}

const ModelsQuery = z.object({
  gallery_size: z.coerce
    .number()
    .int()
    .min(0)
    .max(1e9)
    .optional()
    .describe('Publish the open-set thresholds for this many templates (default: the live gallery)'),
});

/** The gallery size the workers announce (the largest, should one lag), 0 before any loaded. */
async function announcedGallerySize(deps: ApiDeps): Promise<number> {
  const announced = await deps.workers.announcements().catch(() => []);
  const sizes = announced.map((a) =>
    typeof a === 'object' && a !== null && 'gallery_templates' in a && typeof a.gallery_templates === 'number'
      ? a.gallery_templates
      : 0,
  );
  return Math.max(0, ...sizes);
}

/** How long /health gives the worker and queue reads after a good ping. */
const HEALTH_READS_MS = 1000;

/**
 * `promise`'s value, or `fallback` if it fails or takes longer than `ms`. A Redis that freezes
 * between the ping and these reads would otherwise hold /health for the command timeout (2 s)
 * per read.
 */
function orFallback<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  const late = new Promise<T>((r) => setTimeout(() => r(fallback), ms).unref());
  return Promise.race([promise.catch(() => fallback), late]);
}

const healthRoute = createRoute({
  method: 'get',
  path: '/health',
  operationId: 'getHealth',
  tags: ['Service'],
  summary: 'Redis, workers, queues, models',
  description:
    'No API key needed. 200 when ok or degraded (no worker yet), 503 when Redis or the store is down.',
  ...NO_AUTH,
  responses: {
    200: ok(Health, 'ok, or degraded when no worker has announced itself'),
    503: ok(Health, 'down: Redis or the store does not answer'),
  },
});

/** GET /health — never waits on a dead or frozen Redis: 500 ms ping, then 1 s for reads. */
export function healthRoutes(deps: ApiDeps) {
  const app = routeApp();
  app.openapi(healthRoute, async (c) => {
    const [redis, store] = await Promise.all([
      deps.queues.ping(500),
      orFallback(
        deps.store.ping().then(() => true),
        HEALTH_READS_MS,
        false,
      ),
    ]);
    const [workers, queues] = redis
      ? await Promise.all([
          orFallback(deps.workers.announcements(), HEALTH_READS_MS, []),
          orFallback(deps.queues.queueDepths(), HEALTH_READS_MS, {}),
        ])
      : [[], {}];
    // Without the store no batch is accepted and no result read: as down as without Redis.
    const status = !redis || !store ? 'down' : workers.length === 0 ? 'degraded' : 'ok';
    return c.json(
      {
        status,
        version: deps.config.version,
        uptime_s: Math.round((Date.now() - deps.startedAt) / 1000),
        redis: { reachable: redis },
        store: { backend: deps.store.kind, reachable: store },
        workers: { alive: workers.length, details: workers },
        queues,
        models: {
          embedding_model: deps.manifest.embedding_model_id,
          files: Object.fromEntries(
            Object.entries(deps.manifest.models).map(([k, m]) => [k, { file: m.file, sha256: m.sha256 }]),
          ),
        },
      },
      status === 'down' ? 503 : 200,
    );
  });
  return app;
}

const metricsRoute = createRoute({
  method: 'get',
  path: '/metrics',
  operationId: 'getMetrics',
  tags: ['Service'],
  summary: 'Prometheus metrics',
  ...NO_AUTH,
  responses: {
    200: {
      description: 'Prometheus text exposition',
      content: { 'text/plain': { schema: { type: 'string' } } },
    },
  },
});

/** GET /metrics, open like health (scrapers carry no key). */
export function metricsRoutes(deps: ApiDeps) {
  const app = routeApp();
  app.openapi(metricsRoute, async (c) => {
    c.header('content-type', deps.registry.contentType);
    return untyped(c.body(await deps.registry.metrics()));
  });
  return app;
}
