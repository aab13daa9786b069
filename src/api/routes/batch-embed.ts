import { createRoute } from '@hono/zod-openapi';
import { EMBED_BATCH_JOB, EMBED_ITEM_JOB, type EmbedItemData } from '../../shared/jobs/index.js';
import { EmbedBatchRequest } from '../../shared/schemas.js';
import { acceptBatchOnce, batchLimit, photoOrError } from '../batch-intake.js';
import { limitBody } from '../body-limit.js';
import type { ApiDeps } from '../deps.js';
import { BATCH_RESPONSES, IDEMPOTENCY_KEY } from '../docs/batches.js';
import { jsonBody, routeApp, untyped } from '../docs/openapi-kit.js';
import { sha256 } from '../idempotency.js';
import { readBody, readJson } from '../validate.js';

/** POST /jobs/embed — many photos -> embeddings, for backends that match themselves (Pattern A). */
export function batchEmbedRoutes(deps: ApiDeps) {
  const app = routeApp();
  const route = createRoute({
    method: 'post',
    path: '/jobs/embed',
    operationId: 'embedBatch',
    tags: ['Embeddings'],
    summary: 'Embed a batch of photos',
    description: "Answers 202; each item's embedding (or error) is in /api/v1/jobs/{id}/results.",
    middleware: [limitBody(deps.config.maxBatchBodyBytes)] as const,
    request: {
      headers: IDEMPOTENCY_KEY,
      body: jsonBody(app, 'EmbedBatchRequest', EmbedBatchRequest, {
        items: [
          { id: 'photo-1', image: 'iVBORw0KGgo…' },
          { id: 'photo-2', image: '/9j/4AAQ…' },
        ],
        face: 'largest',
      }),
    },
    responses: BATCH_RESPONSES(),
  });
  app.openapi(route, async (c) => {
    const raw = await readBody(c);
    const req = await readJson(c, EmbedBatchRequest, { bytes: raw, limits: [batchLimit(deps, 'items')] });
    const res = await acceptBatchOnce(c, deps, sha256(raw), () => ({
      type: 'embed',
      parent: EMBED_BATCH_JOB,
      child: EMBED_ITEM_JOB,
      webhookUrl: req.webhook_url,
      webhookSecret: req.webhook_secret,
      items: req.items.map((item, i) => ({
        ref: item.id ?? null,
        photos: [photoOrError(item.image, `items.${i}.image`)],
        data: (job_id, index, [photo]): EmbedItemData => ({
          job_id,
          index,
          ref: item.id ?? null,
          photo: photo ?? '',
          face: req.face,
        }),
      })),
    }));
    return untyped(res);
  });
  return app;
}
