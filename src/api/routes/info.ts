import { Hono } from 'hono';
import { z } from 'zod';
import { openSetSummary } from '../../shared/decision.js';
import { THRESHOLDS } from '../../shared/thresholds.js';
import { parseWith } from '../validate.js';
import type { ApiDeps } from '../deps.js';

/** GET /api/v1/models — what produces the embeddings and the thresholds calibrated for it. */
export function modelRoutes(deps: ApiDeps): Hono {
  const app = new Hono();
  app.get('/api/v1/models', async (c) => {
    const q = parseWith(ModelsQuery, c.req.query());
    const gallerySize = q.gallery_size ?? (await announcedGallerySize(deps));
    return c.json({
      embedding_model: deps.manifest.embedding_model_id,
      embedding_dim: deps.manifest.embedding_dim,
      source: deps.manifest.source,
      models: deps.manifest.models,
      thresholds: THRESHOLDS,
      default_threshold: { level: 'balanced', cosine: THRESHOLDS.cosine.balanced },
      threshold_notes:
        'Per comparison (1:1, /compare and a caller-given threshold): a match is distance <= threshold. ' +
        'Measured on LFW (lfw-dev, 2.8 M impostor pairs): high_security = FAR 1e-4 (TAR ~97 %), ' +
        'balanced = FAR 1e-3 (TAR ~98.5 %), convenience = EER (~0.9 %). ' +
        "The integration guide's generic 0.4 rejects most genuine users with this model. " +
        '1:N decisions (identify, attendance, the duplicate gate) use open_set: thresholds for the gallery size.',
      open_set: openSetSummary(deps, gallerySize),
    });
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
  const announced = await deps.jobs.workerAnnouncements().catch(() => []);
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

/** GET /api/v1/health — never waits on a dead or frozen Redis: 500 ms ping, then 1 s for reads. */
export function healthRoutes(deps: ApiDeps): Hono {
  const app = new Hono();
  app.get('/api/v1/health', async (c) => {
    const [redis, store] = await Promise.all([
      deps.jobs.ping(500),
      orFallback(
        deps.store.ping().then(() => true),
        HEALTH_READS_MS,
        false,
      ),
    ]);
    const [workers, queues] = redis
      ? await Promise.all([
          orFallback(deps.jobs.workerAnnouncements(), HEALTH_READS_MS, []),
          orFallback(deps.jobs.queueDepths(), HEALTH_READS_MS, {}),
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
  app.get('/metrics', async (c) => {
    c.header('content-type', deps.registry.contentType);
    return c.body(await deps.registry.metrics());
  });
  return app;
}
